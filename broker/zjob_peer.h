/*  =========================================================================
    zjob_peer - who sent a message: the role and user of a peer's key

    With CURVE on (zjobd --curve-secret, --keys), every peer is known by
    its public key, and the broker's key lists (zjob_auth) say what the key
    may do: a role, a user for a client key, the workflows a worker key may
    serve. The broker looks the key up for each message it reads (so a key
    dropped by a reload stops working at once, also on connections opened
    before) and hands the handlers this record. Without CURVE there is one
    peer, zjob_peer_open (): an admin without a user, the broker as it was
    before keys existed (everything allowed, the SUBMIT's own user kept).

    The handlers apply the rules (PROTOCOL.md 4, "Roles"):
      admin   everything, every user's jobs
      client  its own jobs only (its user is forced on what it submits; a
              job of another user answers 404, as an unknown id would);
              no cleanup, stats, workers, queue controls, schedules, or
              template changes (403)
      worker  the workers socket only (the handshake refuses it
              elsewhere), READY for the workflows its key allows (403)
    ========================================================================= */

#ifndef ZJOB_PEER_H_INCLUDED
#define ZJOB_PEER_H_INCLUDED

#include <stdbool.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZJOB_ROLE_ADMIN = 0,
    ZJOB_ROLE_CLIENT,
    ZJOB_ROLE_WORKER
} zjob_role_t;

typedef struct {
    zjob_role_t role;
    const char *name;       //  The key's name (its file name), for logs; "" open
    const char *user_id;    //  A client key's user; NULL for admin and worker
    const char *workflows;  //  A worker key's "a,b" list; NULL: any workflow
    const char *key;        //  The public key, Z85 (40 chars); NULL when open
    bool internal;          //  The broker's own HTTP side (zjob_http)
    const char *address;    //  Who asked, for logs: the connection's peer
                            //  address, or for the HTTP side the requester
                            //  it names; set per message, NULL if unknown
} zjob_peer_t;

//  Find the peer of a public key (Z85, the User-Id the broker's ZAP
//  handler gave the connection); NULL if the key is no longer listed.
//  The record stays valid until the key lists are reloaded.
typedef const zjob_peer_t *(zjob_peer_lookup_fn) (void *arg, const char *key);

//  The one peer of a broker without CURVE: an admin without a user
static inline const zjob_peer_t *
zjob_peer_open (void)
{
    static const zjob_peer_t open = { ZJOB_ROLE_ADMIN, "", NULL, NULL, NULL, false, NULL };
    return &open;
}

//  True if peer (NULL: the open peer) may see and act on a job of user_id
//  (NULL or "" for a job without a user)
static inline bool
zjob_peer_owns (const zjob_peer_t *peer, const char *user_id)
{
    if (!peer || peer->role == ZJOB_ROLE_ADMIN)
        return true;
    return peer->role == ZJOB_ROLE_CLIENT && peer->user_id && user_id
        && strcmp (peer->user_id, user_id) == 0;
}

#ifdef __cplusplus
}
#endif

#endif
