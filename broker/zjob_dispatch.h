/*  =========================================================================
    zjob_dispatch - the dispatch walk: jobs to workers with credit

    The broker decides when a walk may run (something changed, the store
    is writing, the reclaim window is over); this class does the walk: it
    visits the registry's credit ring from its cursor and hands each
    worker the best job for it, one per visit, sending JOBs through the
    owner's send function. A batching worker's jobs are sent in one JOB at
    the walk's end (or when it has a JOB's worth). What cannot be sent goes
    back to the front of its queue.
    ========================================================================= */

#ifndef ZJOB_DISPATCH_H_INCLUDED
#define ZJOB_DISPATCH_H_INCLUDED

#include "zjob_manager.h"
#include "zjob_proto.h"
#include "zjob_registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zjob_dispatch_t zjob_dispatch_t;

//  Sends data (size bytes) to the worker behind routing id rid now.
//  Returns 0, or -1 with errno set (EHOSTUNREACH: the worker is gone;
//  EAGAIN: its pipe is full).
typedef int (zjob_dispatch_send_fn) (const uint8_t *rid, size_t rid_size,
                                     const uint8_t *data, size_t size, void *arg);

typedef struct {
    zjob_manager_t *manager;      //  The jobs (borrowed)
    zjob_registry_t *registry;    //  The workers and their ring (borrowed)
    zjob_msg_builder_t *builder;  //  Encodes JOBs (borrowed)
    zjob_dispatch_send_fn *send;  //  Sends one JOB
    void *send_arg;
    size_t max_concurrent;  //  Jobs held by all workers at most, 0 = any
    int log_level;          //  ZJOB_LOG_*: errors are logged at ERROR
} zjob_dispatch_config_t;

//  A dispatcher over config's objects. NULL if out of memory.
zjob_dispatch_t *
zjob_dispatch_new (const zjob_dispatch_config_t *config);

//  Destroy it. Accepts NULL; sets *self_p to NULL.
void
zjob_dispatch_destroy (zjob_dispatch_t **self_p);

//  One walk over the credit ring, taking only jobs enqueued up to max_seq
//  (zjob_manager_take_before; UINT64_MAX for any). Returns the number of
//  jobs taken (each a change the store must make durable), and sets
//  *again when a JOB could not be sent, so that another walk is needed
//  once the worker's state is known.
size_t
zjob_dispatch_walk (zjob_dispatch_t *self, uint64_t max_seq, bool *again);

#ifdef __cplusplus
}
#endif

#endif
