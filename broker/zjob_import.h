/*  =========================================================================
    zjob_import - copy every job and record of one store into another

    `zjobd --store NEW --import OLD` moves a broker from one store to
    another (a file store to SQLite or PostgreSQL, say) while no broker
    runs on either. It copies every job (each through its msgpack form,
    zjob_job_encode then zjob_job_decode, the codec every store keeps, so
    the target holds its own copy and what it holds is what it will read
    back) and every record of every kind the broker keeps (templates,
    schedules, batches, queue settings).

    It only ever fills an empty store: a target that holds any job or
    record is refused before anything is written, so an import can never
    merge two histories or overwrite a broker's live data. For the same
    reason it takes the lease of a shared store (zjob_store_acquire) on
    both sides before it reads or writes: a store some broker is active on
    is refused, naming the holder.

    The target is synced every ZJOB_IMPORT_SYNC_EVERY jobs and at the end,
    so the group commits stay of a bounded size (one SQL transaction each)
    and an import of millions of jobs never holds them all unwritten.
    An import that fails half-way leaves a target holding part of the
    jobs; the next import refuses it (not empty): remove it and run again.
    ========================================================================= */

#ifndef ZJOB_IMPORT_H_INCLUDED
#define ZJOB_IMPORT_H_INCLUDED

#include "zjob_store.h"
#include "zjob_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_IMPORT_SYNC_EVERY 10000  //  jobs put into the target per sync
#define ZJOB_IMPORT_LOG_EVERY 100000  //  jobs copied between progress lines

//  What an import did. to_label and from_label are set by the caller
//  (borrowed; NULL: the stores' implementation names) and name the stores
//  in errors and progress lines; log_level (zjob_log_level_t) says whether
//  progress is logged (at info); zjob_import fills in the rest.
typedef struct {
    const char *from_label;  //  In: the source's name for messages
    const char *to_label;    //  In: the target's name for messages
    int log_level;           //  In: progress lines at ZJOB_LOG_INFO and above
    size_t jobs;             //  Out: jobs copied
    size_t records;          //  Out: records copied, of every kind
    size_t syncs;            //  Out: syncs of the target
    int64_t usecs;           //  Out: microseconds the import took
} zjob_import_report_t;

//  The record kinds the broker keeps (template, schedule, batch, queue),
//  NULL-terminated: the ones an import copies and an empty target lacks.
extern const char *const zjob_import_kinds [];

//  Copy every job and record of from into to, which must be empty, then
//  sync to. Returns 0, or -1 with err filled: ZJOB_CONFLICT for a target
//  that holds any job or record, or a store another broker is active on
//  (nothing was written); otherwise the error of the store call that
//  failed (a put or sync of to: the target holds part of the jobs).
//  Neither store is closed.
int
zjob_import (zjob_store_t *from, zjob_store_t *to, zjob_import_report_t *report,
             zjob_error_t *err);

//  The whole of `zjobd --import FROM`: open the target (config's store,
//  or the file store under its data directory, as for serving) and the
//  source store FROM, import, print on out "imported N jobs and M records
//  from FROM into TARGET in S s" (errors on stderr, "zjobd: ..."), close
//  both. Returns zjobd's exit status: 0 done, 2 a bad spec or a refused
//  target, 8 a store that cannot be opened or written.
int
zjob_import_command (const zjob_broker_config_t *config, const char *from_spec, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
