/*  =========================================================================
    zjob_roles - what each role may do with the client requests

    With CURVE on, every client request comes with the peer that sent it
    (zjob_peer.h). This module holds the one table of what a client-role
    key may send, and the few checks the handlers share to keep a client
    to its own user's jobs; zjob_clients_handle asks it before it
    dispatches, and its handlers apply the confinement it returns.

      command                          client role
      SUBMIT                           own: each spec's user is the key's
      GET STATUS RESULTS               own: another user's job is an
      DELETE START PAUSE RESUME        unknown id (404, the same text);
      CANCEL RETRY RUN_NOW             by ids: counted as not found; by
      LIST                             filter: the user forced in it
      BATCH show close list cancel     own batches (the batch's owner)
      TEMPLATE get list                open
      TEMPLATE set delete              admin only (403)
      CLEANUP STATS WORKERS QUEUE      admin only (403)
      SCHEDULE                         admin only (403)
      PING                             open
      anything else                    admin only (the decoder lets none
                                       through: a safe default)

    An admin key, and the open peer (NULL: a broker without CURVE), may do
    everything, on every user's jobs, as before keys existed. A worker key
    on the clients socket (the handshake refuses it: defensively) may do
    nothing there.

    Why "unknown" and not "forbidden" for another user's job: a 403 would
    tell a client that the id exists, and ids are guessable by time. So a
    client sees the broker as if it held its own jobs only: the same code
    and text as for an id that never existed. The confinement is a user
    name (a string the caller copies where it keeps a request across
    passes), never the peer record, which a reload of the key lists frees.
    ========================================================================= */

#ifndef ZJOB_ROLES_H_INCLUDED
#define ZJOB_ROLES_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_peer.h"
#include "zjob_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What a client-role key may do with a command
typedef enum {
    ZJOB_ACCESS_ADMIN = 0,  //  Admin keys only (0: what the table leaves out)
    ZJOB_ACCESS_OWN,        //  A client, on its own user's jobs and batches only
    ZJOB_ACCESS_OPEN        //  Any client key
} zjob_access_t;

//  The table: what a client key may do with cmd (op: the request's op, for
//  TEMPLATE; NULL otherwise).
zjob_access_t
zjob_roles_access (zjob_cmd_t cmd, const char *op);

//  May peer (NULL: the open peer) send msg at all? 0, or -1 with err
//  filled: 403 "CLEANUP: forbidden: admin only", and so on, naming the
//  command (and the op).
int
zjob_roles_check (const zjob_peer_t *peer, zjob_msg_t *msg, zjob_error_t *err);

//  The user peer's requests are confined to: NULL for the open peer and
//  an admin (no confinement), the key's user for a client. Borrowed from
//  peer: valid during the request's handling only; copy it to keep it.
const char *
zjob_roles_user (const zjob_peer_t *peer);

//  The job id as user sees it (user NULL: anyone's), a new reference; or
//  NULL with err: an unknown id's error, also for another user's job.
zjob_job_t *
zjob_roles_get (zjob_manager_t *manager, const char *user, const char *id, zjob_error_t *err);

//  0 if user (NULL: anyone) may see job id, else -1 with the error an
//  unknown id gets (the manager's 404, or its 400 for no id).
int
zjob_roles_visible (zjob_manager_t *manager, const char *user, const char *id,
                    zjob_error_t *err);

//  Fill err with what an unknown job id answers (404 "job ID not found",
//  the manager's text, word for word: a test holds them equal). Returns -1.
int
zjob_roles_unknown (const char *id, zjob_error_t *err);

//  Confine filter to user (NULL: leave it): its user becomes user.
//  Returns false if the filter named another user: it matches nothing
//  (the caller answers an empty result without walking).
bool
zjob_roles_filter (zjob_filter_t *filter, const char *user);

//  A client's SUBMIT, made ready for the manager (zjob_roles_submit_prepare):
//  the specs with the key's user forced, and each parent of another user
//  replaced by a stand-in id that no job has, so that the manager answers
//  it as an unknown parent, in the order of its own checks (a 404 at once
//  would come before errors an unknown parent lets come first); the
//  error it gives is then told with the real id (zjob_roles_submit_error).
//  Lives on the caller's stack; what it allocates, release frees.
typedef struct {
    const zjob_spec_t *specs;            //  The specs to submit (one, or owned)
    zjob_spec_t one;                     //  The single spec's copy
    zjob_spec_t *many;                   //  More specs' copies, owned, or NULL
    const char **parents;                //  Lists with stand-ins, owned, or NULL
    char (*swaps) [2][ZJOB_ID_LEN + 1];  //  {stand-in, real id} pairs, owned
    size_t swap_count;
} zjob_roles_submit_t;

//  SUBMIT by a client of user: make self ready from the count specs (and
//  opts, the batch map, or NULL). Refused (nothing created): a spec naming
//  another user (403, the whole SUBMIT), an idempotency or unique key that
//  a job of another user holds (409: its id is not given away), a batch of
//  another owner (opts->id or a spec's batch_id: 409). 0, or -1 with err
//  filled (self then holds nothing).
int
zjob_roles_submit_prepare (zjob_roles_submit_t *self, zjob_manager_t *manager, const char *user,
                           const zjob_spec_t *specs, size_t count, const zjob_batch_opts_t *opts,
                           zjob_error_t *err);

//  The manager refused self's specs with err: name the real parents in it.
void
zjob_roles_submit_error (const zjob_roles_submit_t *self, zjob_error_t *err);

//  Free what prepare allocated. Safe on a zeroed or released self.
void
zjob_roles_submit_release (zjob_roles_submit_t *self);

#ifdef __cplusplus
}
#endif

#endif
