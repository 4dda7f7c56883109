/*  =========================================================================
    cli_output - how the zjob CLI shows things: text for people, JSON for
    programs

    Text is sized for a person reading a terminal: durations keep two
    units at most, relative times one, and the progress bar is measured
    against the terminal's width each time it is drawn (a resized window
    is followed), leaving the last column free, since a line that fills it
    makes some terminals wrap and the \r redraw then stacks copies.
    ========================================================================= */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cli_output.h"

const char *
zjob_cli_format_duration (int64_t ms, char *buf, size_t size)
{
    if (ms < 0)
        ms = 0;
    if (ms < 1000)
        snprintf (buf, size, "%dms", (int) ms);
    else if (ms < 60000)
        snprintf (buf, size, "%.1fs", (double) ms / 1000.0);
    else if (ms < 3600000)
        snprintf (buf, size, "%dm %ds", (int) (ms / 60000), (int) (ms / 1000 % 60));
    else if (ms < 86400000)
        snprintf (buf, size, "%dh %dm", (int) (ms / 3600000), (int) (ms / 60000 % 60));
    else
        snprintf (buf, size, "%" PRId64 "d %dh", ms / 86400000, (int) (ms / 3600000 % 24));
    return buf;
}

const char *
zjob_cli_format_ago (int64_t ms, int64_t now_ms, char *buf, size_t size)
{
    if (ms == 0)
        return "-";
    int64_t delta = now_ms - ms;
    bool future = delta < 0;
    if (future)
        delta = -delta;
    int64_t seconds = delta / 1000;
    char amount [32];
    if (seconds < 60)
        snprintf (amount, sizeof amount, "%ds", (int) seconds);
    else if (seconds < 3600)
        snprintf (amount, sizeof amount, "%dm", (int) (seconds / 60));
    else if (seconds < 86400)
        snprintf (amount, sizeof amount, "%dh", (int) (seconds / 3600));
    else
        snprintf (amount, sizeof amount, "%" PRId64 "d", seconds / 86400);
    snprintf (buf, size, future ? "in %s" : "%s ago", amount);
    return buf;
}

const char *
zjob_cli_format_when (int64_t ms, char *buf, size_t size)
{
    if (ms == 0)
        return "-";
    char iso [ZJOB_ISO_TIME_LEN];
    char ago [32];
    snprintf (buf, size, "%s (%s)", zjob_iso_time (ms, iso),
              zjob_cli_format_ago (ms, zjob_clock_ms (), ago, sizeof ago));
    return buf;
}


//  --------------------------------------------------------------------------
//  The progress bar

int
zjob_cli_terminal_width (int fd)
{
    struct winsize size;
    if (ioctl (fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    const char *columns = getenv ("COLUMNS");
    if (columns) {
        char *end;
        long value = strtol (columns, &end, 10);
        if (*columns && !*end && value > 0 && value < 10000)
            return (int) value;
    }
    return ZJOB_CLI_WIDTH_DEFAULT;
}

//  Append at most room bytes of message to buf at used (control characters
//  as spaces, never half a UTF-8 character). Returns the new length.
static size_t
s_append_cut (char *buf, size_t used, const char *message, size_t room)
{
    size_t length = strlen (message);
    if (length > room) {
        length = room;
        while (length > 0 && ((unsigned char) message [length] & 0xC0) == 0x80)
            length--;  //  Back to the start of a character
    }
    for (size_t index = 0; index < length; index++) {
        unsigned char c = (unsigned char) message [index];
        buf [used++] = c < 0x20 || c == 0x7F ? ' ' : (char) c;
    }
    buf [used] = '\0';
    return used;
}

size_t
zjob_cli_progress_line (char *buf, size_t size, int width, const char *id,
                        const char *status, int percent, const char *message)
{
    if (size < 64)
        return buf && size ? (*buf = '\0', 0) : 0;
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    size_t budget = width > 1 ? (size_t) width - 1 : 0;
    if (budget > size - 1)
        budget = size - 1;
    size_t status_len = strlen (status) > 9 ? strlen (status) : 9;
    size_t tail = 7;  //  "[" "]" " 100%" around the bar
    size_t id_len = strlen (id) + 2;
    bool with_id = budget >= id_len + status_len + 1 + tail + ZJOB_CLI_BAR_MIN * 2;
    size_t prefix = (with_id ? id_len : 0) + status_len + 1;
    size_t bar = budget > prefix + tail ? budget - prefix - tail : 0;
    if (bar > ZJOB_CLI_BAR_MAX)
        bar = ZJOB_CLI_BAR_MAX;
    if (bar < ZJOB_CLI_BAR_MIN)
        bar = 0;
    char cells [ZJOB_CLI_BAR_MAX + 1];
    size_t filled = bar * (size_t) percent / 100;
    for (size_t index = 0; index < bar; index++)
        cells [index] = index < filled ? '#' : '.';
    cells [bar] = '\0';
    int used;
    if (bar)
        used = snprintf (buf, size, "%s%s%-9s [%s] %3d%%", with_id ? id : "",
                         with_id ? "  " : "", status, cells, percent);
    else
        used = snprintf (buf, size, "%-9s %3d%%", status, percent);
    size_t length = used < 0 ? 0 : (size_t) used;
    if (length > budget) {
        length = budget;  //  Narrower than the status and percent
        buf [length] = '\0';
    }
    if (message && *message && length + 3 <= budget) {
        memcpy (buf + length, "  ", 3);
        length = s_append_cut (buf, length + 2, message, budget - length - 2);
    }
    return length;
}


//  --------------------------------------------------------------------------
//  JSON

void
zjob_cli_print_json (const json_t *value, bool compact)
{
    char *text = zjob_json_dumps (value, compact ? ZJOB_JSON_COMPACT : ZJOB_JSON_PRETTY);
    if (text) {
        puts (text);
        free (text);
    }
    fflush (stdout);
}

static int
s_compare_keys (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

json_t *
zjob_cli_json_sorted (json_t *value)
{
    if (json_is_array (value)) {
        json_t *array = json_array ();
        size_t index;
        json_t *item;
        json_array_foreach (value, index, item)
            json_array_append_new (array, zjob_cli_json_sorted (item));
        return array;
    }
    if (!json_is_object (value))
        return json_incref (value);
    size_t count = json_object_size (value);
    const char **keys = (const char **) calloc (count + 1, sizeof (char *));
    json_t *object = json_object ();
    if (!keys || !object) {
        free (keys);
        json_decref (object);
        return json_incref (value);
    }
    size_t index = 0;
    const char *key;
    json_t *item;
    json_object_foreach (value, key, item)
        keys [index++]
        = key;
    qsort (keys, count, sizeof (char *), s_compare_keys);
    for (index = 0; index < count; index++)
        json_object_set_new (object, keys [index],
                             zjob_cli_json_sorted (json_object_get (value, keys [index])));
    free (keys);
    return object;
}


//  --------------------------------------------------------------------------
//  Tables

struct _zjob_cli_table_t {
    size_t columns;  //  Cells per row
    zlistx_t *rows;  //  Rows: char ** of strdup'd cells, header first
};

static void
s_row_free (void **item)
{
    char ***row_p = (char ***) item;
    if (*row_p) {
        for (size_t cell = 0; (*row_p) [cell]; cell++)
            free ((*row_p) [cell]);
        free (*row_p);
        *row_p = NULL;
    }
}

zjob_cli_table_t *
zjob_cli_table_new (size_t columns, const char *const *header)
{
    zjob_cli_table_t *self = (zjob_cli_table_t *) calloc (1, sizeof (zjob_cli_table_t));
    if (!self)
        return NULL;
    self->columns = columns > 16 ? 16 : columns;
    self->rows = zlistx_new ();
    if (!self->rows) {
        free (self);
        return NULL;
    }
    zlistx_set_destructor (self->rows, s_row_free);
    zjob_cli_table_add (self, header);
    return self;
}

void
zjob_cli_table_add (zjob_cli_table_t *self, const char *const *cells)
{
    char **row = (char **) calloc (self->columns + 1, sizeof (char *));
    if (!row)
        return;
    for (size_t cell = 0; cell < self->columns; cell++)
        row [cell] = strdup (cells [cell] && *cells [cell] ? cells [cell] : "-");
    zlistx_add_end (self->rows, row);
}

void
zjob_cli_table_print (zjob_cli_table_t *self, const char *indent)
{
    size_t width [16] = { 0 };
    for (char **row = (char **) zlistx_first (self->rows); row;
         row = (char **) zlistx_next (self->rows))
        for (size_t cell = 0; cell < self->columns; cell++)
            if (row [cell] && strlen (row [cell]) > width [cell])
                width [cell] = strlen (row [cell]);
    for (char **row = (char **) zlistx_first (self->rows); row;
         row = (char **) zlistx_next (self->rows)) {
        fputs (indent, stdout);
        for (size_t cell = 0; cell < self->columns; cell++) {
            const char *text = row [cell] ? row [cell] : "-";
            if (cell + 1 < self->columns)
                printf ("%-*s  ", (int) width [cell], text);
            else
                printf ("%s\n", text);
        }
    }
}

void
zjob_cli_table_destroy (zjob_cli_table_t **self_p)
{
    if (self_p && *self_p) {
        zlistx_destroy (&(*self_p)->rows);
        free (*self_p);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Jobs

void
zjob_cli_print_data (const char *label, const zjob_bytes_t *bytes)
{
    char *text = bytes->size ? zjob_msgpack_to_json (bytes->data, bytes->size, 0, NULL) : NULL;
    printf ("%-12s  %s\n", label, text ? text : "{}");
    free (text);
}

//  The times of a job, one a line
static void
s_print_job_times (const zjob_job_t *job)
{
    char buf [128];
    printf ("%-12s  %s\n", "created", zjob_cli_format_when (job->created_at, buf, sizeof buf));
    printf ("%-12s  %s\n", "updated", zjob_cli_format_when (job->updated_at, buf, sizeof buf));
    if (job->run_at)
        printf ("%-12s  %s\n", "run at", zjob_cli_format_when (job->run_at, buf, sizeof buf));
    if (job->queued_at)
        printf ("%-12s  %s\n", "queued", zjob_cli_format_when (job->queued_at, buf, sizeof buf));
    if (job->started_at)
        printf ("%-12s  %s\n", "started",
                zjob_cli_format_when (job->started_at, buf, sizeof buf));
    if (job->completed_at)
        printf ("%-12s  %s\n", "finished",
                zjob_cli_format_when (job->completed_at, buf, sizeof buf));
    if (job->execution_ms)
        printf ("%-12s  %s\n", "ran for",
                zjob_cli_format_duration (job->execution_ms, buf, sizeof buf));
    if (job->queued_ms)
        printf ("%-12s  %s\n", "queued for",
                zjob_cli_format_duration (job->queued_ms, buf, sizeof buf));
}

void
zjob_cli_print_policy (const zjob_job_t *job)
{
    char base [32], cap [32], timeout [32], heartbeat [32];
    zjob_backoff_t backoff = zjob_job_backoff (job);
    if (backoff != ZJOB_BACKOFF_UNSET) {
        //  "exponential from 1.0s, x2.0, at most 5m 0s, full jitter"
        zjob_cli_format_duration (zjob_job_backoff_base_ms (job), base, sizeof base);
        zjob_cli_format_duration (zjob_job_backoff_max_ms (job), cap, sizeof cap);
        printf ("%-12s  %s from %s", "backoff", zjob_backoff_name (backoff), base);
        if (backoff == ZJOB_BACKOFF_EXPONENTIAL)
            printf (", x%g, at most %s", zjob_job_backoff_factor (job), cap);
        zjob_jitter_t jitter = zjob_job_jitter (job);
        printf (", %s jitter\n", jitter == ZJOB_JITTER_FULL ? "full" : "no");
    }
    size_t count = 0;
    const char *const *kinds = zjob_job_no_retry (job, &count);
    if (count) {
        printf ("%-12s  ", "not retried");
        for (size_t index = 0; index < count; index++)
            printf ("%s%s", index ? ", " : "", kinds [index]);
        printf ("\n");
    }
    uint32_t per_attempt = zjob_job_timeout_ms (job);
    uint32_t silent = zjob_job_heartbeat_timeout_ms (job);
    if (per_attempt || silent)
        printf ("%-12s  %s%s%s%s%s\n", "timeouts",
                per_attempt ? zjob_cli_format_duration (per_attempt, timeout, sizeof timeout) : "",
                per_attempt ? " an attempt" : "", per_attempt && silent ? ", " : "",
                silent ? zjob_cli_format_duration (silent, heartbeat, sizeof heartbeat) : "",
                silent ? " without progress" : "");
}

void
zjob_cli_print_errors (const zjob_job_t *job)
{
    size_t count = zjob_job_error_count (job);
    if (count == 0)
        return;
    printf ("%-12s  %zu failed attempt%s, oldest first\n", "errors", count,
            count == 1 ? "" : "s");
    for (size_t index = 0; index < count; index++) {
        zjob_attempt_error_t entry;
        if (zjob_job_error_at (job, index, &entry))
            continue;
        //  "  #2  2024-05-01T12:00:00.250Z  gpu-1  timeout: ran longer than 30s"
        char iso [ZJOB_ISO_TIME_LEN];
        printf ("  #%-3u %s  %s  %s%s%s\n", entry.attempt,
                entry.at ? zjob_iso_time (entry.at, iso) : "-",
                entry.worker_id ? entry.worker_id : "-", entry.kind ? entry.kind : "error",
                entry.message ? ": " : "", entry.message ? entry.message : "");
    }
}

void
zjob_cli_print_job (const zjob_job_t *job)
{
    printf ("%-12s  %s\n", "id", job->id);
    printf ("%-12s  %s\n", "workflow", job->workflow_id);
    printf ("%-12s  %s\n", "status", zjob_status_name ((zjob_status_t) job->status));
    printf ("%-12s  %s\n", "priority", zjob_priority_name ((zjob_priority_t) job->priority));
    if (job->user_id)
        printf ("%-12s  %s\n", "user", job->user_id);
    if (job->tag_count) {
        printf ("%-12s  ", "tags");
        for (size_t index = 0; index < job->tag_count; index++)
            printf ("%s%s", index ? ", " : "", job->tags [index]);
        printf ("\n");
    }
    if (job->progress > 0 || job->progress_message)
        printf ("%-12s  %d%%%s%s\n", "progress", (int) (job->progress * 100.0f + 0.5f),
                job->progress_message ? "  " : "",
                job->progress_message ? job->progress_message : "");
    if (job->max_attempts)
        printf ("%-12s  %u of %u\n", "attempts", job->attempts, job->max_attempts);
    else if (job->attempts)
        printf ("%-12s  %u (no limit)\n", "attempts", job->attempts);
    if (zjob_job_result_attempt (job))
        printf ("%-12s  attempt %u\n", "result of", zjob_job_result_attempt (job));
    zjob_cli_print_policy (job);
    if (job->worker_id)
        printf ("%-12s  %s\n", "worker", job->worker_id);
    if (job->error_kind || job->error_message)
        printf ("%-12s  %s%s%s\n", "error", job->error_kind ? job->error_kind : "",
                job->error_kind && job->error_message ? ": " : "",
                job->error_message ? job->error_message : "");
    zjob_cli_print_errors (job);
    s_print_job_times (job);
    if (job->idempotency_key)
        printf ("%-12s  %s\n", "key", job->idempotency_key);
    zjob_cli_print_data ("inputs", &job->inputs);
    if (job->metadata.size)
        zjob_cli_print_data ("metadata", &job->metadata);
    if (job->outputs.size)
        zjob_cli_print_data ("outputs", &job->outputs);
    fflush (stdout);
}

void
zjob_cli_print_jobs_table (zjob_job_t **jobs, size_t count)
{
    static const char *header [] = {
        "ID", "WORKFLOW", "STATUS", "PRIORITY", "PROGRESS", "ATTEMPTS", "CREATED", "UPDATED"
    };
    zjob_cli_table_t *table = zjob_cli_table_new (8, header);
    if (!table)
        return;
    int64_t now = zjob_clock_ms ();
    for (size_t index = 0; index < count; index++) {
        zjob_job_t *job = jobs [index];
        char progress [16] = "";
        if (job->progress > 0 || job->status == ZJOB_RUNNING || job->status == ZJOB_PAUSED)
            snprintf (progress, sizeof progress, "%d%%", (int) (job->progress * 100.0f + 0.5f));
        char attempts [16];
        snprintf (attempts, sizeof attempts, "%u", job->attempts);
        char created [32], updated [32];
        const char *cells [] = {
            job->id, job->workflow_id, zjob_status_name ((zjob_status_t) job->status),
            zjob_priority_name ((zjob_priority_t) job->priority), progress, attempts,
            zjob_cli_format_ago (job->created_at, now, created, sizeof created),
            zjob_cli_format_ago (job->updated_at, now, updated, sizeof updated)
        };
        zjob_cli_table_add (table, cells);
    }
    zjob_cli_table_print (table, "");
    zjob_cli_table_destroy (&table);
}
