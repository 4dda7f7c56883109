/*  =========================================================================
    zjob_auth - the broker's key lists and its ZAP handler (CURVE)

    With CURVE on (zjobd --curve-secret FILE --keys DIR), every peer is
    known by its public key, and DIR says what each key may do:

        DIR/admin/   keys that may do everything, on every socket
        DIR/client/  keys of clients (and event subscribers), each bound
                     to a user: its metadata's user_id, else the file name
                     without a trailing ".key"
        DIR/worker/  keys of workers, each limited to the workflows of its
                     metadata's "workflows" (a comma list; absent or "*":
                     any workflow)

    Each file is a public certificate as CZMQ's zcert_save_public writes
    it (the NAME.key file of `zjob keygen`); files whose name starts with
    '.' or ends with "_secret", and anything that is not a regular file,
    are skipped. A missing subdirectory is an empty role. A key listed
    twice (in two roles, or in two files of one) is an error naming both
    files, as is a file that is not a certificate: the lists are all
    good, or not taken at all.

    ZAP (ZeroMQ RFC 27) is answered here, in the broker's own loop, not in
    a zauth thread: the broker binds the ZAP endpoint (a ROUTER on
    inproc://zeromq.zap.01 in CZMQ's context), polls it with its other
    sockets and answers each request at once from the current lists. One
    thread owns the lists, so a reload needs no lock, and since the broker
    also looks the key of each message up (zjob_auth_lookup), a key a
    reload drops stops working at once, on connections opened before it
    too. The ZAP domain of a socket says which roles it takes:
        clients  admin, client
        workers  admin, worker
        events   admin, client
    The mechanism must be CURVE. An accepted connection gets its public
    key in Z85 as its user id (the "User-Id" property of each message);
    every refusal is logged at warning with the peer's address, its key
    and the reason.
    ========================================================================= */

#ifndef ZJOB_AUTH_H_INCLUDED
#define ZJOB_AUTH_H_INCLUDED

#include <czmq.h>
#include "zjob_error.h"
#include "zjob_peer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_AUTH_ENDPOINT "inproc://zeromq.zap.01"  //  where libzmq sends ZAP requests
#define ZJOB_AUTH_FILE_MAX 65536                     //  bytes in a certificate file at most
#define ZJOB_AUTH_KEY_LEN 40                         //  chars of a public key in Z85

typedef struct _zjob_auth_t zjob_auth_t;

//  Read the key lists under keys_dir (copied); log_level (zjob_log_level_t)
//  filters this class's logs. NULL with err filled (ZJOB_BAD_REQUEST) if
//  the directory cannot be read, a file is not a certificate, or a key is
//  listed twice.
zjob_auth_t *
zjob_auth_new (const char *keys_dir, int log_level, zjob_error_t *err);

//  Destroy the lists and close the ZAP socket. Accepts NULL; sets *self_p
//  to NULL.
void
zjob_auth_destroy (zjob_auth_t **self_p);

//  Read keys_dir again. On success the new lists replace the old ones
//  (every zjob_peer_t handed out before is freed) and returns 0; on error
//  the old lists stay and returns -1 with err filled.
int
zjob_auth_reload (zjob_auth_t *self, zjob_error_t *err);

//  A zjob_peer_lookup_fn: the peer of key (Z85), or NULL if it is not
//  listed (or key is NULL). The record is valid until the next reload.
const zjob_peer_t *
zjob_auth_lookup (void *self, const char *key);

//  Accept key (Z85) as an admin called name, besides the lists, on every
//  socket, until the auth is destroyed (a reload keeps it): the broker's
//  own HTTP side (zjob_http) connects with a key made at start, so its
//  peer is marked internal (zjob_peer_t). A second call replaces the
//  first. 0, or -1 with err filled.
int
zjob_auth_add_internal (zjob_auth_t *self, const char *name, const char *key, zjob_error_t *err);

//  The number of keys listed for role.
size_t
zjob_auth_count (zjob_auth_t *self, zjob_role_t role);

//  Bind the ZAP endpoint. Returns 0, or -1 with err filled
//  (ZJOB_UNAVAILABLE) if it is taken: one handler per process (per
//  context), so a second broker with CURVE in the process cannot start.
int
zjob_auth_bind (zjob_auth_t *self, zjob_error_t *err);

//  The ZAP socket (a libzmq socket, for its ZMQ_FD), or NULL before bind.
void *
zjob_auth_handle (zjob_auth_t *self);

//  Answer up to max pending ZAP requests without blocking. Returns how
//  many were read (answered, or dropped when malformed); less than max
//  means the socket was read until it had nothing (its fd is settled).
size_t
zjob_auth_serve (zjob_auth_t *self, size_t max);

#ifdef __cplusplus
}
#endif

#endif
