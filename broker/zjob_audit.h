/*  =========================================================================
    zjob_audit - the admin-action log: who changed what, and how it went

    Every client request that changes something other than a plain SUBMIT
    (DELETE, START, PAUSE, RESUME, CANCEL, RETRY, RUN_NOW by id, ids or
    filter; CLEANUP; QUEUE pause, resume, limit; SCHEDULE add, pause,
    resume, delete, run_now; TEMPLATE set, delete; BATCH close, cancel) is
    logged at info, one line, with who asked and the outcome:

        admin: CANCEL job 01J... by 127.0.0.1:40404 (key ops, role admin): ok
        admin: DELETE jobs matching {"workflow_id":"resize"} by 127.0.0.1:40404: ok, 12 done, 0 failed
        admin: QUEUE pause resize by http 10.0.0.5:51234 #7 (key http, role admin): 403 ...

    Who: the peer's address (zjob_peer_t.address, set by the broker per
    message) and, with CURVE, the key's name, role and user. A dry run
    changes nothing and is not logged; neither is a refused read. An
    operation left pending across loop passes (by filter, CLEANUP) is
    described when it is handled and logged when it is kept ("started")
    and again when it finishes, from a copy of the description that the
    pending request holds (a fixed buffer: nothing to own or free).
    The broker's log level filters the lines (info), and nothing is
    formatted when it is lower.
    ========================================================================= */

#ifndef ZJOB_AUDIT_H_INCLUDED
#define ZJOB_AUDIT_H_INCLUDED

#include "zjob_proto.h"
#include "zjob_peer.h"
#include "zjob_error.h"
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_AUDIT_MAX 512  //  bytes of an action's description, with the NUL

//  What a finished action's reply counted, if anything
typedef struct {
    bool counted;     //  done and failed below are the reply's
    uint64_t done;    //  Jobs done (or deleted: CLEANUP)
    uint64_t failed;  //  Jobs the operation could not do
    bool deleted;     //  CLEANUP: done counts deletions ("12 deleted")
} zjob_audit_counts_t;

//  Write into what (size bytes, at least ZJOB_AUDIT_MAX for no truncation)
//  the description of msg by peer (NULL: the open peer) when msg is an
//  admin action: "CANCEL job ID by ADDRESS (key K, role R, user U)".
//  Returns true, or false (what "") for a read, a SUBMIT or a dry run.
bool
zjob_audit_describe (zjob_msg_t *msg, const zjob_peer_t *peer, char *what, size_t size);

//  Log an admin action's outcome at info when log_level (zjob_log_level_t)
//  allows it and what is not empty: rc < 0 is err's code and text, else
//  "ok" with counts (NULL: none) or, with started, "started".
void
zjob_audit_outcome (const char *what, int rc, bool started, const zjob_error_t *err,
                    const zjob_audit_counts_t *counts, int log_level);

//  What zjob_clients_handle calls with each request it answered (rc, err
//  as it returns them; counts the reply's, or NULL). When msg is an admin
//  action and log_level is info or more: with pending false, logs its
//  outcome; with pending true (the request goes on in later passes),
//  logs nothing and leaves the description in keep (ZJOB_AUDIT_MAX bytes)
//  for zjob_audit_outcome. keep is "" otherwise.
void
zjob_audit_request (zjob_msg_t *msg, const zjob_peer_t *peer, int rc, bool pending,
                    const zjob_error_t *err, const zjob_audit_counts_t *counts,
                    int log_level, char *keep);

#ifdef __cplusplus
}
#endif

#endif
