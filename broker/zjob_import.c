/*  =========================================================================
    zjob_import - copy every job and record of one store into another

    See zjob_import.h. The copy is one zjob_store_iterate over the source,
    each job re-made from its encoded form and put into the target; every
    ZJOB_IMPORT_SYNC_EVERY puts the target is synced, so a SQL target
    commits transactions of a bounded size and a file target's journal is
    written as it grows, and a failure stops the walk at once.
    ========================================================================= */

#include "zjob_import.h"
#include "zjob_batches.h"    //  ZJOB_BATCH_RECORD
#include "zjob_schedules.h"  //  ZJOB_SCHEDULE_KIND
#include "zjob_templates.h"  //  ZJOB_TEMPLATE_KIND
#include "zjob_log.h"

#define EXIT_BAD_INPUT 2  //  zjobd's: a bad spec, a refused target
#define EXIT_FAILURE_ 8   //  zjobd's: a store that cannot be opened or written

//  Every kind a module of the broker keeps records of; "queue" is
//  zjob_queues.c's own (queue settings by workflow). The store has no
//  call listing the kinds it holds, so a module that keeps a new kind
//  must add it here too, or an import leaves its records behind.
const char *const zjob_import_kinds [] = {
    ZJOB_TEMPLATE_KIND, ZJOB_SCHEDULE_KIND, ZJOB_BATCH_RECORD, "queue", NULL
};

//  The walk's state: where to put, what was done, the first error
typedef struct {
    zjob_store_t *to;
    zjob_import_report_t *report;
    const char *label;  //  The target's name for messages
    zjob_error_t *err;
    int rc;  //  0, or -1 once a put or a sync failed (err filled)
} s_copy_t;

static int
s_copy_job (zjob_job_t *job, void *arg)
{
    s_copy_t *copy = (s_copy_t *) arg;
    uint8_t *data = NULL;
    size_t size = 0;
    if (zjob_job_encode (job, &data, &size)) {
        copy->rc = zjob_error_set (copy->err, ZJOB_INTERNAL, "out of memory");
        return 1;
    }
    zjob_error_t why;
    zjob_job_t *twin = zjob_job_decode (data, size, &why);
    free (data);
    if (!twin) {
        copy->rc = zjob_error_set (copy->err, ZJOB_INTERNAL, "job %s does not decode: %s",
                                   job->id, why.text);
        return 1;
    }
    int rc = zjob_store_put (copy->to, twin, copy->err);
    zjob_job_destroy (&twin);
    if (rc) {
        copy->rc = -1;
        return 1;
    }
    size_t jobs = ++copy->report->jobs;
    if (jobs % ZJOB_IMPORT_SYNC_EVERY == 0) {
        if (zjob_store_sync (copy->to, copy->err)) {
            copy->rc = -1;
            return 1;
        }
        copy->report->syncs++;
    }
    if (jobs % ZJOB_IMPORT_LOG_EVERY == 0)
        ZJOB_LOG_IF (copy->report->log_level, ZJOB_LOG_INFO, "import: %zu jobs into %s (%.1f s)",
                     jobs, copy->label, (zclock_usecs () - copy->report->usecs) / 1e6);
    return 0;
}

//  The walk's state over records of one kind
typedef struct {
    s_copy_t *copy;
    const char *kind;
} s_records_t;

static int
s_copy_record (const char *name, const uint8_t *data, size_t size, void *arg)
{
    s_records_t *records = (s_records_t *) arg;
    s_copy_t *copy = records->copy;
    if (zjob_store_record_put (copy->to, records->kind, name, data, size, copy->err)) {
        copy->rc = -1;
        return 1;
    }
    copy->report->records++;
    return 0;
}

//  Records of every kind in store
static size_t
s_records (zjob_store_t *store)
{
    size_t records = 0;
    for (size_t kind = 0; zjob_import_kinds [kind]; kind++)
        records += zjob_store_record_count (store, zjob_import_kinds [kind]);
    return records;
}

//  Become the active owner of store (a shared one: its lease) with its
//  content loaded; 0, or -1 with err filled (ZJOB_CONFLICT if another
//  broker is active on it)
static int
s_acquire (zjob_store_t *store, const char *label, zjob_error_t *err)
{
    zjob_error_t why;
    int rc = zjob_store_acquire (store, &why);
    if (rc == 1)
        return 0;
    if (rc == 0)
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "a broker is active on %s (%s): stop it before an import",
                               label, why.text);
    return zjob_error_set (err, why.code, "%s: %s", label, why.text);
}

//  0 if the target store holds no job and no record, else -1 with err
//  filled (ZJOB_CONFLICT)
static int
s_check_empty (zjob_store_t *to, const char *to_label, zjob_error_t *err)
{
    size_t jobs = zjob_store_count (to), records = s_records (to);
    if (jobs || records)
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "the target store %s already holds %zu job%s and %zu record%s: "
                               "import only into an empty store",
                               to_label, jobs, jobs == 1 ? "" : "s", records,
                               records == 1 ? "" : "s");
    return 0;
}

int
zjob_import (zjob_store_t *from, zjob_store_t *to, zjob_import_report_t *report,
             zjob_error_t *err)
{
    assert (from && to && report);
    const char *from_label = report->from_label ? report->from_label : zjob_store_name (from);
    const char *to_label = report->to_label ? report->to_label : zjob_store_name (to);
    report->jobs = report->records = report->syncs = 0;
    report->usecs = zclock_usecs ();  //  The start, until the end
    //  A store that is not shared holds its content from its open: a
    //  target found not empty is refused before the source is loaded.
    //  A shared target is acquired last, right before the copy: its
    //  session must not idle while a large source loads (a PostgreSQL
    //  session of the active broker dies after idling for its lease).
    if (!zjob_store_shared (to) && s_check_empty (to, to_label, err))
        return -1;
    if (s_acquire (from, from_label, err) || s_acquire (to, to_label, err)
        || s_check_empty (to, to_label, err))
        return -1;
    ZJOB_LOG_IF (report->log_level, ZJOB_LOG_INFO, "import: %zu jobs and %zu records from %s "
                                                   "into %s",
                 zjob_store_count (from), s_records (from), from_label, to_label);

    s_copy_t copy = { to, report, to_label, err, 0 };
    for (size_t kind = 0; copy.rc == 0 && zjob_import_kinds [kind]; kind++) {
        s_records_t records_of = { &copy, zjob_import_kinds [kind] };
        zjob_store_record_each (from, zjob_import_kinds [kind], s_copy_record, &records_of);
    }
    if (copy.rc == 0)
        zjob_store_iterate (from, NULL, s_copy_job, &copy);
    if (copy.rc == 0 && zjob_store_sync (to, err))
        copy.rc = -1;
    if (copy.rc == 0)
        report->syncs++;
    report->usecs = zclock_usecs () - report->usecs;
    return copy.rc;
}

//  spec as it may be shown (printed, logged) into text: a password in a
//  PostgreSQL connection string (password=... or postgres://USER:...@)
//  becomes "***"
static void
s_redact (const char *spec, char *text, size_t size)
{
    snprintf (text, size, "%s", spec);
    //  The secret: from start, length bytes
    char *start = strstr (text, "password=");
    size_t length = 0;
    if (start) {
        start += strlen ("password=");
        length = *start == '\'' ? strcspn (start + 1, "'") + 2 : strcspn (start, " ");
        length = length > strlen (start) ? strlen (start) : length;
    }
    char *scheme = strstr (text, "://");
    char *end = scheme ? strchr (scheme + 3, '@') : NULL;
    char *colon = scheme ? strchr (scheme + 3, ':') : NULL;
    if (!start && end && colon && colon < end) {
        start = colon + 1;  //  postgres://USER:SECRET@HOST
        length = (size_t) (end - start);
    }
    if (start && strlen (text) + 3 < size) {
        memmove (start + 3, start + length, strlen (start + length) + 1);
        memcpy (start, "***", 3);
    }
}

//  Open the store of spec (label: as shown) for an import; NULL after
//  saying why on stderr, with *status_p set to the exit status
static zjob_store_t *
s_open (const char *spec, const char *label, const char *role, int *status_p)
{
    zjob_error_t err;
    zjob_store_t *store = zjob_store_open (spec, &err);
    if (!store) {
        fprintf (stderr, "zjobd: cannot open the %s store %s: %s\n", role, label, err.text);
        *status_p = err.code == ZJOB_BAD_REQUEST ? EXIT_BAD_INPUT : EXIT_FAILURE_;
    }
    return store;
}

int
zjob_import_command (const zjob_broker_config_t *config, const char *from_spec, FILE *out)
{
    zjob_log_set_program ("zjobd");
    zjob_log_set_format ((zjob_log_format_t) config->log_format);
    //  The target: as zjob_broker opens it to serve
    char spec [ZJOB_BROKER_PATH_MAX + 8];
    if (*config->store)
        snprintf (spec, sizeof (spec), "%s", config->store);
    else {
        if (zsys_dir_create ("%s", config->data_dir)) {
            fprintf (stderr, "zjobd: cannot create data directory %s\n", config->data_dir);
            return EXIT_FAILURE_;
        }
        snprintf (spec, sizeof (spec), "file:%s", config->data_dir);
    }
    if (streq (spec, from_spec)) {
        fprintf (stderr, "zjobd: --import %s: the store to import is the target itself\n",
                 from_spec);
        return EXIT_BAD_INPUT;
    }
    char from_label [ZJOB_BROKER_PATH_MAX + 8], to_label [ZJOB_BROKER_PATH_MAX + 8];
    s_redact (from_spec, from_label, sizeof from_label);
    s_redact (spec, to_label, sizeof to_label);
    int status = 0;
    zjob_store_t *to = s_open (spec, to_label, "target", &status);
    zjob_store_t *from = to ? s_open (from_spec, from_label, "source", &status) : NULL;
    if (from) {
        zjob_import_report_t report = { from_label, to_label, config->log_level, 0, 0, 0, 0 };
        zjob_error_t err;
        if (zjob_import (from, to, &report, &err)) {
            fprintf (stderr, "zjobd: cannot import %s into %s: %s\n", from_label, to_label,
                     err.text);
            status = err.code == ZJOB_CONFLICT ? EXIT_BAD_INPUT : EXIT_FAILURE_;
        }
        else
            fprintf (out, "imported %zu jobs and %zu records from %s into %s in %.2f s\n",
                     report.jobs, report.records, from_label, to_label, report.usecs / 1e6);
        fflush (out);
    }
    zjob_store_destroy (&from);
    zjob_store_destroy (&to);
    return status;
}
