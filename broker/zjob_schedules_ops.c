/*  =========================================================================
    zjob_schedules_ops - the operations on schedules and the SCHEDULE
    command (see zjob_schedules.h)

    Each operation changes the schedule in memory only once its record is
    put: a refused put leaves the set as it was. The handler reads the
    request's fields (their types and bounds checked by proto's schema),
    checks what the schema cannot (the op, which fields go with it) and
    answers with the schedule as it now is.
    ========================================================================= */

#include "zjob_schedules_impl.h"
#include "zjob_store.h"
#include "zjob_msgpack.h"
#include <stdlib.h>
#include <string.h>

//  A new schedule from spec, checked; NULL with err
static zjob_schedule_t *
s_schedule_new (zjob_schedules_t *self, const zjob_schedule_spec_t *spec, zjob_error_t *err)
{
    zjob_cron_t cron;
    size_t template_size = 0;
    if (!zjob_name_valid (spec->name) || strlen (spec->name) > ZJOB_SCHEDULE_NAME_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "name: a schedule needs a name of 1..%d printable characters",
                        ZJOB_SCHEDULE_NAME_MAX);
        return NULL;
    }
    if (zjob_cron_parse (&cron, spec->cron, err)
        || zjob_cron_zone_check (spec->timezone, err))
        return NULL;
    if (!spec->template_name == !spec->workflow_id) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "schedule %s: give a template or a workflow_id (one of them)",
                        spec->name);
        return NULL;
    }
    if (spec->template_name
        && (spec->inputs || spec->metadata || spec->tag_count
            || spec->priority != ZJOB_PRIORITY_UNSET)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST,
                        "schedule %s: inputs, metadata, tags and priority go with a "
                        "workflow_id (a template has its own)",
                        spec->name);
        return NULL;
    }
    if (spec->template_name
        && !zjob_store_record_get (zjob_manager_store (self->manager), "template",
                                   spec->template_name, &template_size)) {
        zjob_error_set (err, ZJOB_NOT_FOUND, "template: no template %s", spec->template_name);
        return NULL;
    }
    if (spec->workflow_id) {
        //  The job it will make must be a valid job: checked once here
        zjob_spec_t job_spec;
        memset (&job_spec, 0, sizeof (job_spec));
        job_spec.workflow_id = spec->workflow_id;
        job_spec.inputs = spec->inputs;
        job_spec.inputs_size = spec->inputs_size;
        job_spec.metadata = spec->metadata;
        job_spec.metadata_size = spec->metadata_size;
        job_spec.priority = spec->priority;
        job_spec.tags = spec->tags;
        job_spec.tag_count = spec->tag_count;
        zjob_job_t *job = zjob_job_new (&job_spec, err);
        if (!job)
            return NULL;
        zjob_job_destroy (&job);
    }
    zjob_schedule_t *schedule = (zjob_schedule_t *) calloc (1, sizeof (zjob_schedule_t));
    bool ok = schedule != NULL;
    if (ok) {
        schedule->cron = cron;
        schedule->priority = spec->priority;
        schedule->paused = spec->paused;
        schedule->catch_up = spec->catch_up;
        ok = (schedule->name = strdup (spec->name))
            && (schedule->cron_text = strdup (spec->cron))
            && (!spec->timezone || !*spec->timezone || (schedule->tz = strdup (spec->timezone)))
            && (!spec->template_name || (schedule->tpl = strdup (spec->template_name)))
            && (!spec->workflow_id || (schedule->wf = strdup (spec->workflow_id)));
    }
    if (ok && spec->inputs && (schedule->inputs = (uint8_t *) malloc (spec->inputs_size + 1))) {
        memcpy (schedule->inputs, spec->inputs, spec->inputs_size);
        schedule->inputs_size = spec->inputs_size;
    }
    else
        ok = ok && !spec->inputs;
    if (ok && spec->metadata
        && (schedule->metadata = (uint8_t *) malloc (spec->metadata_size + 1))) {
        memcpy (schedule->metadata, spec->metadata, spec->metadata_size);
        schedule->metadata_size = spec->metadata_size;
    }
    else
        ok = ok && !spec->metadata;
    if (ok && spec->tag_count) {
        schedule->tags = (char **) calloc (spec->tag_count, sizeof (char *));
        ok = schedule->tags != NULL;
        for (size_t index = 0; ok && index < spec->tag_count; index++)
            ok = (schedule->tags [schedule->tag_count++] = strdup (spec->tags [index])) != NULL;
    }
    if (!ok) {
        zjob_schedule_free (&schedule);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    return schedule;
}

int
zjob_schedules_add (zjob_schedules_t *self, const zjob_schedule_spec_t *spec, bool replace,
                    int64_t now, zjob_error_t *err)
{
    assert (self && spec);
    bool found = false;
    size_t index = spec->name ? zjob_schedules_find (self, spec->name, &found) : 0;
    if (found && !replace)
        return zjob_error_set (err, ZJOB_CONFLICT,
                               "schedule %s exists (replace: true, or zjob schedule add --replace, replaces it)", spec->name);
    if (!found && self->count >= ZJOB_SCHEDULES_MAX)
        return zjob_error_set (err, ZJOB_TOO_MANY, "schedules: at most %d",
                               ZJOB_SCHEDULES_MAX);
    zjob_schedule_t *schedule = s_schedule_new (self, spec, err);
    if (!schedule)
        return -1;
    schedule->created = now;
    if (found) {
        const zjob_schedule_t *old = self->items [index];
        schedule->created = old->created;
        schedule->last_due = old->last_due;
        memcpy (schedule->last_job, old->last_job, sizeof (schedule->last_job));
    }
    schedule->next = zjob_schedule_next_after (schedule, now);
    if (!schedule->next) {
        zjob_schedule_free (&schedule);
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: it never fires");
    }
    if (zjob_schedules_put (self, schedule, err)) {
        zjob_schedule_free (&schedule);
        return -1;
    }
    if (found)
        zjob_schedule_free (&self->items [index]);
    else {
        memmove (&self->items [index + 1], &self->items [index],
                 (self->count - index) * sizeof (self->items [0]));
        self->count++;
    }
    self->items [index] = schedule;
    zjob_schedules_recompute (self);
    return 0;
}

static zjob_schedule_t *
s_lookup (zjob_schedules_t *self, const char *name, zjob_error_t *err)
{
    bool found = false;
    size_t index = name ? zjob_schedules_find (self, name, &found) : 0;
    if (!found) {
        zjob_error_set (err, ZJOB_NOT_FOUND, "no schedule %s", name ? name : "(no name)");
        return NULL;
    }
    return self->items [index];
}

int
zjob_schedules_pause (zjob_schedules_t *self, const char *name, bool paused, int64_t now,
                      zjob_error_t *err)
{
    zjob_schedule_t *schedule = s_lookup (self, name, err);
    if (!schedule)
        return -1;
    if (schedule->paused == paused)
        return 0;
    int64_t next = schedule->next;
    schedule->paused = paused;
    //  Resumed, it waits for its next slot: a pause is not caught up
    if (!paused && next <= now)
        schedule->next = zjob_schedule_next_after (schedule, now);
    if (zjob_schedules_put (self, schedule, err)) {
        schedule->paused = !paused;
        schedule->next = next;
        return -1;
    }
    zjob_schedules_recompute (self);
    return 0;
}

int
zjob_schedules_delete (zjob_schedules_t *self, const char *name, zjob_error_t *err)
{
    bool found = false;
    size_t index = name ? zjob_schedules_find (self, name, &found) : 0;
    if (!found)
        return zjob_error_set (err, ZJOB_NOT_FOUND, "no schedule %s", name ? name : "(no name)");
    if (zjob_store_record_remove (zjob_manager_store (self->manager), ZJOB_SCHEDULE_KIND, name,
                                  err))
        return -1;
    zjob_schedule_free (&self->items [index]);
    memmove (&self->items [index], &self->items [index + 1],
             (self->count - index - 1) * sizeof (self->items [0]));
    self->count--;
    zjob_schedules_recompute (self);
    return 0;
}

zjob_job_t *
zjob_schedules_run_now (zjob_schedules_t *self, const char *name, int64_t now,
                        zjob_error_t *err)
{
    zjob_schedule_t *schedule = s_lookup (self, name, err);
    if (!schedule)
        return NULL;
    zjob_job_t *job = zjob_schedule_make_job (self, schedule, now, err);
    if (!job)
        return NULL;
    char last_job [ZJOB_ID_LEN + 1];
    memcpy (last_job, schedule->last_job, sizeof (last_job));
    snprintf (schedule->last_job, sizeof (schedule->last_job), "%s", zjob_job_id (job));
    if (zjob_schedules_put (self, schedule, err)) {
        //  The job stands (it is in the store); the record keeps the old one
        memcpy (schedule->last_job, last_job, sizeof (last_job));
        zjob_job_destroy (&job);
        return NULL;
    }
    return job;
}

static void
s_info (const zjob_schedule_t *schedule, zjob_schedule_info_t *info)
{
    memset (info, 0, sizeof (*info));
    info->name = schedule->name;
    info->cron = schedule->cron_text;
    info->timezone = schedule->tz;
    info->catch_up = schedule->catch_up;
    info->paused = schedule->paused;
    info->template_name = schedule->tpl;
    info->workflow_id = schedule->wf;
    info->inputs = schedule->inputs;
    info->inputs_size = schedule->inputs_size;
    info->priority = schedule->priority;
    info->tags = (const char *const *) schedule->tags;
    info->tag_count = schedule->tag_count;
    info->metadata = schedule->metadata;
    info->metadata_size = schedule->metadata_size;
    info->next = schedule->next;
    info->last_due = schedule->last_due;
    info->last_job = *schedule->last_job ? schedule->last_job : NULL;
    info->last_error = schedule->last_error;
    info->created = schedule->created;
}

int
zjob_schedules_info (zjob_schedules_t *self, const char *name, zjob_schedule_info_t *info,
                     zjob_error_t *err)
{
    zjob_schedule_t *schedule = s_lookup (self, name, err);
    if (!schedule)
        return -1;
    s_info (schedule, info);
    return 0;
}


//  --------------------------------------------------------------------------
//  The SCHEDULE command

//  add: the spec from the request's fields
static int
s_handle_add (zjob_schedules_t *self, zjob_msg_t *msg, int64_t now, zjob_error_t *err)
{
    zjob_schedule_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.name = zjob_msg_str (msg, "name");
    spec.cron = zjob_msg_str (msg, "cron");
    spec.timezone = zjob_msg_str (msg, "timezone");
    spec.catch_up = zjob_msg_bool (msg, "catch_up", true);
    spec.paused = zjob_msg_bool (msg, "paused", false);
    spec.template_name = zjob_msg_str (msg, "template");
    spec.workflow_id = zjob_msg_str (msg, "workflow_id");
    spec.inputs = zjob_msg_bin (msg, "inputs", &spec.inputs_size);
    spec.metadata = zjob_msg_bin (msg, "metadata", &spec.metadata_size);
    spec.tags = zjob_msg_strs (msg, "tags", &spec.tag_count);
    spec.priority = ZJOB_PRIORITY_UNSET;
    const char *priority = zjob_msg_str (msg, "priority");
    if (priority)
        spec.priority = (zjob_priority_t) zjob_priority_parse (priority);
    if (!spec.cron)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "cron: required by op add");
    return zjob_schedules_add (self, &spec, zjob_msg_bool (msg, "replace", false), now, err);
}

//  The OK with the schedule name as it now is
static int
s_reply_schedule (zjob_schedules_t *self, zjob_msg_builder_t *builder, zjob_msg_t *msg,
                  const char *name, zjob_error_t *err)
{
    zjob_schedule_info_t info;
    if (zjob_schedules_info (self, name, &info, err))
        return -1;
    zjob_msg_begin (builder, ZJOB_CMD_OK, zjob_msg_request_id (msg));
    zjob_msg_add_schedule (builder, "schedule", &info, true);
    return 0;
}

static int
s_reply_list (zjob_schedules_t *self, zjob_msg_builder_t *builder, zjob_msg_t *msg,
              zjob_error_t *err)
{
    zjob_schedule_info_t *infos = (zjob_schedule_info_t *) calloc (
        self->count ? self->count : 1, sizeof (zjob_schedule_info_t));
    if (!infos)
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    for (size_t index = 0; index < self->count; index++)
        s_info (self->items [index], &infos [index]);
    zjob_msg_begin (builder, ZJOB_CMD_OK, zjob_msg_request_id (msg));
    zjob_msg_add_schedules (builder, "schedules", infos, self->count);
    zjob_msg_add_uint (builder, "total", self->count);
    free (infos);
    return 0;
}

int
zjob_schedules_handle (zjob_schedules_t *self, zjob_msg_t *msg, zjob_msg_builder_t *builder,
                       int64_t now, zjob_error_t *err)
{
    if (!self)
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "schedules: not served by this broker");
    const char *op = zjob_msg_str (msg, "op");
    const char *name = zjob_msg_str (msg, "name");
    if (op && streq (op, "list"))
        return s_reply_list (self, builder, msg, err);
    bool known = op
        && (streq (op, "add") || streq (op, "get") || streq (op, "pause")
            || streq (op, "resume") || streq (op, "delete") || streq (op, "run_now"));
    if (!known)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "op: one of add, get, list, pause, resume, delete, run_now");
    if (!name)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "name: required by op %s", op);
    if (streq (op, "get"))
        return s_reply_schedule (self, builder, msg, name, err);
    if (streq (op, "add")) {
        if (s_handle_add (self, msg, now, err))
            return -1;
    }
    else if (streq (op, "pause") || streq (op, "resume")) {
        if (zjob_schedules_pause (self, name, streq (op, "pause"), now, err))
            return -1;
    }
    else if (streq (op, "delete")) {
        if (zjob_schedules_delete (self, name, err))
            return -1;
        zjob_msg_begin (builder, ZJOB_CMD_OK, zjob_msg_request_id (msg));
        zjob_msg_add_str (builder, "name", name);
        return 1;
    }
    else {
        zjob_job_t *job = zjob_schedules_run_now (self, name, now, err);
        if (!job)
            return -1;
        int rc = s_reply_schedule (self, builder, msg, name, err);
        zjob_msg_add_str (builder, "id", zjob_job_id (job));
        zjob_job_destroy (&job);
        return rc ? -1 : 1;
    }
    return s_reply_schedule (self, builder, msg, name, err) ? -1 : 1;
}
