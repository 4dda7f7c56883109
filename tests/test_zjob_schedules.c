/*  =========================================================================
    test_zjob_schedules - schedules through a manager on the memory store

    "now" is driven by hand (every call takes it), so nothing sleeps: a
    schedule fires exactly at its due time and not before, once per due
    time; a late pass fires once (never once per missed slot) and moves to
    the first slot after now; reloading the set applies the catch-up rule;
    pause, resume, run_now, delete; the refusals of add; the bound per
    pass; and the guard against a lost record: a due time fired again
    makes no second job.
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include <time.h>
#include "zjob_schedules.h"
#include "zjob_store.h"
#include "zjob_job_impl.h"

static int64_t
s_utc (int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t) timegm (&tm) * 1000;
}

static zjob_manager_t *
s_manager (void)
{
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_error_t err;
    zjob_manager_t *manager = zjob_manager_new (&store, NULL, &err);
    cr_assert_not_null (manager, "%s", err.text);
    return manager;
}

static zjob_schedule_spec_t
s_spec (const char *name, const char *cron)
{
    zjob_schedule_spec_t spec;
    memset (&spec, 0, sizeof (spec));
    spec.name = name;
    spec.cron = cron;
    spec.workflow_id = "report";
    spec.priority = ZJOB_PRIORITY_UNSET;
    spec.catch_up = true;
    return spec;
}

static void
s_add (zjob_schedules_t *schedules, const zjob_schedule_spec_t *spec, int64_t now)
{
    zjob_error_t err;
    cr_assert_eq (zjob_schedules_add (schedules, spec, false, now, &err), 0, "%s", err.text);
}

static zjob_schedule_info_t
s_info (zjob_schedules_t *schedules, const char *name)
{
    zjob_schedule_info_t info;
    zjob_error_t err;
    cr_assert_eq (zjob_schedules_info (schedules, name, &info, &err), 0, "%s", err.text);
    return info;
}

//  The job the schedule made last, checked to be its, for due time due
static void
s_assert_last_job (zjob_manager_t *manager, zjob_schedules_t *schedules, const char *name,
                   int64_t due)
{
    zjob_schedule_info_t info = s_info (schedules, name);
    cr_assert_not_null (info.last_job);
    zjob_error_t err;
    zjob_job_t *job = zjob_manager_get (manager, info.last_job, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (zjob_job_schedule (job), name);
    cr_assert_eq (zjob_job_scheduled_for (job), due, "scheduled_for %lld, due %lld",
                  (long long) zjob_job_scheduled_for (job), (long long) due);
    cr_assert_eq (zjob_job_status (job), ZJOB_QUEUED);
    zjob_job_destroy (&job);
}

//  The listener: how many jobs it heard of, and the last due time
static int s_fired_count;
static int64_t s_fired_due;

static void
s_fired (const char *name, int64_t due, const zjob_job_t *job, void *arg)
{
    cr_assert_str_eq (name, (const char *) arg);
    cr_assert_eq (zjob_job_scheduled_for (job), due);
    s_fired_count++;
    s_fired_due = due;
}

Test (schedules, fires_at_its_due_time_once)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 1, 1, 0, 0, 30);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    cr_assert_not_null (schedules);
    cr_assert_eq (zjob_schedules_next_due (schedules), 0);
    zjob_schedule_spec_t spec = s_spec ("every-minute", "* * * * *");
    s_add (schedules, &spec, t0);
    zjob_schedules_set_listener (schedules, s_fired, (void *) "every-minute");
    int64_t due = s_utc (2026, 1, 1, 0, 1, 0);
    cr_assert_eq (s_info (schedules, "every-minute").next, due);
    cr_assert_eq (zjob_schedules_next_due (schedules), due);
    cr_assert_eq (zjob_schedules_fire (schedules, due - 1, 10), 0);
    cr_assert_eq (zjob_manager_stored (manager), 0);
    cr_assert_eq (zjob_schedules_fire (schedules, due, 10), 1);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    s_assert_last_job (manager, schedules, "every-minute", due);
    cr_assert_eq (s_fired_count, 1);
    cr_assert_eq (s_fired_due, due);
    zjob_schedule_info_t info = s_info (schedules, "every-minute");
    cr_assert_eq (info.last_due, due);
    cr_assert_eq (info.next, due + 60000);
    //  The same instant again: nothing more
    cr_assert_eq (zjob_schedules_fire (schedules, due + 500, 10), 0);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    //  Late by nine slots: one job, for the first missed due time
    cr_assert_eq (zjob_schedules_fire (schedules, due + 9 * 60000 + 30000, 10), 1);
    cr_assert_eq (zjob_manager_stored (manager), 2);
    s_assert_last_job (manager, schedules, "every-minute", due + 60000);
    cr_assert_eq (s_info (schedules, "every-minute").next, due + 10 * 60000);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, the_job_has_the_schedules_fields)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 6, 1, 12, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    static const uint8_t inputs [] = { 0x81, 0xa1, 'n', 0x05 };  //  {"n": 5}
    const char *tags [] = { "nightly", "ops" };
    zjob_schedule_spec_t spec = s_spec ("nightly", "0 2 * * *");
    spec.timezone = "Europe/Berlin";
    spec.inputs = inputs;
    spec.inputs_size = sizeof (inputs);
    spec.priority = ZJOB_PRIORITY_HIGH;
    spec.tags = tags;
    spec.tag_count = 2;
    s_add (schedules, &spec, t0);
    int64_t due = s_utc (2026, 6, 2, 0, 0, 0);  //  02:00 CEST
    cr_assert_eq (s_info (schedules, "nightly").next, due);
    cr_assert_eq (zjob_schedules_fire (schedules, due + 3, 10), 1);
    zjob_job_t *job = zjob_manager_get (manager, s_info (schedules, "nightly").last_job, &err);
    cr_assert_not_null (job);
    size_t size = 0;
    const uint8_t *data = zjob_job_inputs (job, &size);
    cr_assert_eq (size, sizeof (inputs));
    cr_assert_eq (memcmp (data, inputs, size), 0);
    cr_assert_eq (zjob_job_priority (job), ZJOB_PRIORITY_HIGH);
    cr_assert_str_eq (zjob_job_workflow (job), "report");
    cr_assert_eq (zjob_job_scheduled_for (job), due);
    zjob_job_destroy (&job);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, reload_catches_up_once_or_skips)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 3, 1, 10, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    zjob_schedule_spec_t spec = s_spec ("catch", "*/10 * * * *");
    s_add (schedules, &spec, t0);
    spec = s_spec ("skip", "*/10 * * * *");
    spec.catch_up = false;
    s_add (schedules, &spec, t0);
    zjob_schedules_destroy (&schedules);
    //  "Down" for an hour: six slots of each missed
    int64_t later = t0 + 3600 * 1000 + 5000;
    schedules = zjob_schedules_new (manager, later, &err);
    cr_assert_not_null (schedules, "%s", err.text);
    cr_assert_eq (zjob_schedules_count (schedules), 2);
    //  skip moved on at load; catch still waits for its missed due time
    cr_assert_eq (s_info (schedules, "skip").next, s_utc (2026, 3, 1, 11, 10, 0));
    cr_assert_eq (s_info (schedules, "catch").next, s_utc (2026, 3, 1, 10, 10, 0));
    cr_assert_eq (zjob_schedules_fire (schedules, later, 10), 1);
    cr_assert_eq (zjob_manager_stored (manager), 1);
    s_assert_last_job (manager, schedules, "catch", s_utc (2026, 3, 1, 10, 10, 0));
    cr_assert_eq (s_info (schedules, "catch").next, s_utc (2026, 3, 1, 11, 10, 0));
    cr_assert_eq (zjob_schedules_fire (schedules, later + 1000, 10), 0);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, a_due_time_fired_again_makes_no_second_job)
{
    //  A journal that kept the job but lost the record: the set reloads
    //  with the old record and fires that due time again
    zjob_manager_t *manager = s_manager ();
    zjob_store_t *store = zjob_manager_store (manager);
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 3, 1, 10, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    zjob_schedule_spec_t spec = s_spec ("once", "0 * * * *");
    s_add (schedules, &spec, t0);
    size_t size = 0;
    const uint8_t *record = zjob_store_record_get (store, ZJOB_SCHEDULE_KIND, "once", &size);
    cr_assert_not_null (record);
    uint8_t *before = malloc (size);
    memcpy (before, record, size);
    size_t before_size = size;
    int64_t due = s_utc (2026, 3, 1, 11, 0, 0);
    cr_assert_eq (zjob_schedules_fire (schedules, due, 10), 1);
    char first [ZJOB_ID_LEN + 1];
    strcpy (first, s_info (schedules, "once").last_job);
    zjob_schedules_destroy (&schedules);
    cr_assert_eq (zjob_store_record_put (store, ZJOB_SCHEDULE_KIND, "once", before, before_size,
                                         &err),
                  0);
    free (before);
    schedules = zjob_schedules_new (manager, due + 2000, &err);
    cr_assert_eq (zjob_schedules_fire (schedules, due + 2000, 10), 1);
    cr_assert_eq (zjob_manager_stored (manager), 1, "a second job for one due time");
    cr_assert_str_eq (s_info (schedules, "once").last_job, first);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, pause_resume_run_now_delete)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 3, 1, 10, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    zjob_schedule_spec_t spec = s_spec ("p", "*/5 * * * *");
    s_add (schedules, &spec, t0);
    cr_assert_eq (zjob_schedules_pause (schedules, "p", true, t0, &err), 0);
    cr_assert_eq (zjob_schedules_next_due (schedules), 0);
    cr_assert_eq (zjob_schedules_fire (schedules, t0 + 3600 * 1000, 10), 0);
    cr_assert_eq (zjob_manager_stored (manager), 0);
    //  Resumed: no catch-up of the pause, the next slot after now
    int64_t now = t0 + 3600 * 1000 + 1000;
    cr_assert_eq (zjob_schedules_pause (schedules, "p", false, now, &err), 0);
    cr_assert_eq (s_info (schedules, "p").next, t0 + 3600 * 1000 + 5 * 60000);
    //  run_now: a job now, next unchanged
    zjob_job_t *job = zjob_schedules_run_now (schedules, "p", now, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_eq (zjob_job_scheduled_for (job), now);
    cr_assert_str_eq (zjob_job_schedule (job), "p");
    cr_assert_str_eq (s_info (schedules, "p").last_job, zjob_job_id (job));
    zjob_job_destroy (&job);
    cr_assert_eq (s_info (schedules, "p").next, t0 + 3600 * 1000 + 5 * 60000);
    cr_assert_eq (s_info (schedules, "p").last_due, 0);
    //  Delete: gone from memory and store; its jobs stay
    cr_assert_eq (zjob_schedules_delete (schedules, "p", &err), 0);
    cr_assert_eq (zjob_schedules_count (schedules), 0);
    size_t size;
    cr_assert_null (zjob_store_record_get (zjob_manager_store (manager), ZJOB_SCHEDULE_KIND, "p",
                                           &size));
    cr_assert_eq (zjob_manager_stored (manager), 1);
    cr_assert_eq (zjob_schedules_delete (schedules, "p", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_schedules_pause (schedules, "p", true, now, &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_null (zjob_schedules_run_now (schedules, "p", now, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

static void
s_refused (zjob_schedules_t *schedules, const zjob_schedule_spec_t *spec, int code,
           const char *needle)
{
    zjob_error_t err;
    cr_assert_eq (zjob_schedules_add (schedules, spec, false, s_utc (2026, 1, 1, 0, 0, 0), &err),
                  -1, "%s accepted", spec->name ? spec->name : "(null)");
    cr_assert_eq (err.code, code, "%d: %s", err.code, err.text);
    cr_assert (strstr (err.text, needle), "'%s' lacks '%s'", err.text, needle);
}

Test (schedules, add_refusals)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 1, 1, 0, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    zjob_schedule_spec_t spec = s_spec ("a", "61 * * * *");
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "minute: 61 is out of range");
    spec = s_spec ("a", "* * * * *");
    spec.timezone = "Moon/Tranquility";
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "unknown zone");
    spec = s_spec ("a", "* * * * *");
    spec.template_name = "t";
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "one of them");
    spec.workflow_id = NULL;
    s_refused (schedules, &spec, ZJOB_NOT_FOUND, "no template t");
    spec.workflow_id = NULL;
    spec.template_name = NULL;
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "one of them");
    spec = s_spec ("has space", "* * * * *");
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "name");
    spec = s_spec (NULL, "* * * * *");
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "name");
    spec = s_spec ("a", "* * * * *");
    spec.workflow_id = "bad workflow";
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "workflow");
    static const uint8_t not_a_map [] = { 0x01 };
    spec = s_spec ("a", "* * * * *");
    spec.inputs = not_a_map;
    spec.inputs_size = 1;
    s_refused (schedules, &spec, ZJOB_BAD_REQUEST, "inputs");
    cr_assert_eq (zjob_schedules_count (schedules), 0);
    //  A name taken: 409, unless replace (which keeps created)
    spec = s_spec ("a", "* * * * *");
    s_add (schedules, &spec, t0);
    s_refused (schedules, &spec, ZJOB_CONFLICT, "exists");
    spec.cron = "0 * * * *";
    cr_assert_eq (zjob_schedules_add (schedules, &spec, true, t0 + 5000, &err), 0);
    cr_assert_str_eq (s_info (schedules, "a").cron, "0 * * * *");
    cr_assert_eq (s_info (schedules, "a").created, t0);
    cr_assert_eq (zjob_schedules_count (schedules), 1);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, bounded_per_pass_and_at_most_1000)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 1, 1, 0, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    char name [32];
    for (int index = 0; index < ZJOB_SCHEDULES_MAX; index++) {
        snprintf (name, sizeof (name), "s%04d", index);
        zjob_schedule_spec_t spec = s_spec (name, "* * * * *");
        s_add (schedules, &spec, t0);
    }
    zjob_schedule_spec_t spec = s_spec ("one-more", "* * * * *");
    s_refused (schedules, &spec, ZJOB_TOO_MANY, "at most 1000");
    int64_t due = t0 + 60000;
    int64_t start = zjob_mono_ms ();
    cr_assert_eq (zjob_schedules_fire (schedules, due, ZJOB_SCHEDULES_STEP), ZJOB_SCHEDULES_STEP);
    int64_t elapsed = zjob_mono_ms () - start;
    cr_assert_leq (zjob_schedules_next_due (schedules), due, "the rest still due");
    size_t passes = 1;
    while (zjob_schedules_fire (schedules, due, ZJOB_SCHEDULES_STEP) > 0)
        passes++;
    cr_assert_eq (passes, ZJOB_SCHEDULES_MAX / ZJOB_SCHEDULES_STEP);
    cr_assert_eq (zjob_manager_stored (manager), ZJOB_SCHEDULES_MAX);
    cr_assert_eq (zjob_schedules_next_due (schedules), due + 60000);
    cr_log_info ("a pass of %d schedules fired in %lld ms", ZJOB_SCHEDULES_STEP,
                 (long long) elapsed);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, a_bad_record_is_left_alone)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    static const uint8_t garbage [] = { 0x81, 0xa4, 'c', 'r', 'o', 'n', 0x05 };  //  {"cron": 5}
    cr_assert_eq (zjob_store_record_put (zjob_manager_store (manager), ZJOB_SCHEDULE_KIND, "bad",
                                         garbage, sizeof (garbage), &err),
                  0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, s_utc (2026, 1, 1, 0, 0, 0), &err);
    cr_assert_not_null (schedules);
    cr_assert_eq (zjob_schedules_count (schedules), 0);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

//  --------------------------------------------------------------------------
//  The SCHEDULE command, through the decoder as the broker gets it

//  Handle the request in request at now: rc, and the decoded OK (or NULL)
static zjob_msg_t *
s_call (zjob_schedules_t *schedules, zjob_msg_builder_t *request, int64_t now, int *rc_p,
        zjob_error_t *err)
{
    zframe_t *frame = zjob_msg_end (request, err);
    cr_assert_not_null (frame);
    //  The message reads the frame's bytes in place: it keeps the frame
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame),
                                       ZJOB_ROUTE_CLIENT_BROKER, err);
    if (!msg) {
        zframe_destroy (&frame);
        *rc_p = -1;
        return NULL;
    }
    zjob_msg_adopt (msg, &frame);
    zjob_msg_builder_t *reply = zjob_msg_builder_new ();
    *rc_p = zjob_schedules_handle (schedules, msg, reply, now, err);
    zjob_msg_destroy (&msg);
    zjob_msg_t *ok = NULL;
    if (*rc_p >= 0) {
        frame = zjob_msg_end (reply, err);
        ok = zjob_msg_decode (zframe_data (frame), zframe_size (frame), ZJOB_ROUTE_BROKER_CLIENT,
                              err);
        cr_assert_not_null (ok, "the OK decodes: %s", err->text);
        zjob_msg_adopt (ok, &frame);
    }
    zjob_msg_builder_destroy (&reply);
    return ok;
}

Test (schedules, the_schedule_command)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    int64_t t0 = s_utc (2026, 1, 1, 0, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    zjob_msg_builder_t *request = zjob_msg_builder_new ();
    int rc;
    //  add: a change (1), the schedule as stored
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 1);
    zjob_msg_add_str (request, "op", "add");
    zjob_msg_add_str (request, "name", "hourly");
    zjob_msg_add_str (request, "cron", "@hourly");
    zjob_msg_add_str (request, "timezone", "America/New_York");
    zjob_msg_add_bool (request, "catch_up", false);
    zjob_msg_add_str (request, "workflow_id", "report");
    zjob_msg_add_str (request, "priority", "low");
    zjob_msg_t *ok = s_call (schedules, request, t0, &rc, &err);
    cr_assert_eq (rc, 1, "%s", err.text);
    const msgpack_object *map = zjob_msg_field (ok, "schedule");
    cr_assert_not_null (map);
    cr_assert_eq (map->type, MSGPACK_OBJECT_MAP);
    zjob_msg_destroy (&ok);
    zjob_schedule_info_t info = s_info (schedules, "hourly");
    cr_assert_str_eq (info.timezone, "America/New_York");
    cr_assert_not (info.catch_up);
    cr_assert_eq (info.priority, ZJOB_PRIORITY_LOW);
    cr_assert_eq (info.next, t0 + 3600 * 1000);
    //  get and list: reads (0)
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 2);
    zjob_msg_add_str (request, "op", "get");
    zjob_msg_add_str (request, "name", "hourly");
    ok = s_call (schedules, request, t0, &rc, &err);
    cr_assert_eq (rc, 0);
    zjob_msg_destroy (&ok);
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 3);
    zjob_msg_add_str (request, "op", "list");
    ok = s_call (schedules, request, t0, &rc, &err);
    cr_assert_eq (rc, 0);
    cr_assert_eq (zjob_msg_uint (ok, "total", 0), 1);
    const msgpack_object *list = zjob_msg_field (ok, "schedules");
    cr_assert (list && list->type == MSGPACK_OBJECT_ARRAY && list->via.array.size == 1);
    zjob_msg_destroy (&ok);
    //  run_now: the job's id
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 4);
    zjob_msg_add_str (request, "op", "run_now");
    zjob_msg_add_str (request, "name", "hourly");
    ok = s_call (schedules, request, t0 + 7, &rc, &err);
    cr_assert_eq (rc, 1, "%s", err.text);
    cr_assert_not_null (zjob_msg_str (ok, "id"));
    zjob_msg_destroy (&ok);
    //  Refusals: an unknown op, no name, no cron, a bad priority (decoder)
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 5);
    zjob_msg_add_str (request, "op", "explode");
    zjob_msg_add_str (request, "name", "hourly");
    cr_assert_null (s_call (schedules, request, t0, &rc, &err));
    cr_assert (rc == -1 && err.code == ZJOB_BAD_REQUEST && strstr (err.text, "op: one of"));
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 6);
    zjob_msg_add_str (request, "op", "pause");
    cr_assert_null (s_call (schedules, request, t0, &rc, &err));
    cr_assert (strstr (err.text, "name: required"), "%s", err.text);
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 7);
    zjob_msg_add_str (request, "op", "add");
    zjob_msg_add_str (request, "name", "x");
    zjob_msg_add_str (request, "workflow_id", "report");
    cr_assert_null (s_call (schedules, request, t0, &rc, &err));
    cr_assert (strstr (err.text, "cron: required"), "%s", err.text);
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 8);
    zjob_msg_add_str (request, "op", "add");
    zjob_msg_add_str (request, "name", "x");
    zjob_msg_add_str (request, "cron", "* * * * *");
    zjob_msg_add_str (request, "priority", "urgent");
    cr_assert_null (s_call (schedules, request, t0, &rc, &err));
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    //  pause, delete (the OK names it), then 404
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 9);
    zjob_msg_add_str (request, "op", "pause");
    zjob_msg_add_str (request, "name", "hourly");
    ok = s_call (schedules, request, t0, &rc, &err);
    cr_assert_eq (rc, 1);
    zjob_msg_destroy (&ok);
    cr_assert (s_info (schedules, "hourly").paused);
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 10);
    zjob_msg_add_str (request, "op", "delete");
    zjob_msg_add_str (request, "name", "hourly");
    ok = s_call (schedules, request, t0, &rc, &err);
    cr_assert_eq (rc, 1);
    cr_assert_str_eq (zjob_msg_str (ok, "name"), "hourly");
    zjob_msg_destroy (&ok);
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 11);
    zjob_msg_add_str (request, "op", "get");
    zjob_msg_add_str (request, "name", "hourly");
    cr_assert_null (s_call (schedules, request, t0, &rc, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    //  A broker without schedules answers 503
    zjob_msg_begin (request, ZJOB_CMD_SCHEDULE, 12);
    zjob_msg_add_str (request, "op", "list");
    cr_assert_null (s_call (NULL, request, t0, &rc, &err));
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    zjob_msg_builder_destroy (&request);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

Test (schedules, a_due_time_that_makes_no_job_is_noted_and_passed)
{
    //  A template named at add, deleted before the due time: the due time
    //  makes no job, says why in last_error, and the schedule goes on (it
    //  is not tried again on every pass)
    zjob_manager_t *manager = s_manager ();
    zjob_store_t *store = zjob_manager_store (manager);
    zjob_error_t err;
    static const uint8_t template [] = { 0x81, 0xa2, 'w', 'f', 0xa6, 'r', 'e', 'p', 'o', 'r', 't' };
    cr_assert_eq (zjob_store_record_put (store, "template", "gone", template, sizeof (template),
                                         &err),
                  0);
    int64_t t0 = s_utc (2026, 1, 1, 0, 0, 0);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    zjob_schedule_spec_t spec = s_spec ("orphan", "* * * * *");
    spec.workflow_id = NULL;
    spec.template_name = "gone";
    s_add (schedules, &spec, t0);
    cr_assert_str_eq (s_info (schedules, "orphan").template_name, "gone");
    cr_assert_eq (zjob_store_record_remove (store, "template", "gone", &err), 0);
    cr_assert_eq (zjob_schedules_fire (schedules, t0 + 60000, 10), 1);
    cr_assert_eq (zjob_manager_stored (manager), 0);
    zjob_schedule_info_t info = s_info (schedules, "orphan");
    cr_assert_not_null (info.last_error);
    cr_assert_null (info.last_job);
    cr_assert_eq (info.last_due, t0 + 60000);
    cr_assert_eq (info.next, t0 + 120000);
    cr_assert_eq (zjob_schedules_fire (schedules, t0 + 60000, 10), 0, "not tried again");
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}

//  A schedule that names a template: the template is read when the due
//  time fires (not when the schedule is added), so its job has the
//  template's workflow, inputs, priority, tags and policy, and records both
//  the template and the schedule; a template replaced between two due
//  times gives the second job the new settings; run_now merges it too.
Test (schedules, a_template_schedule_makes_the_templates_job)
{
    zjob_manager_t *manager = s_manager ();
    zjob_error_t err;
    static const uint8_t inputs [] = { 0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0xa1, 'x' };  //  {a: 1, b: "x"}
    const char *tags [] = { "ops" };
    zjob_spec_t tpl = { .workflow_id = "backup",
                        .inputs = inputs,
                        .inputs_size = sizeof (inputs),
                        .priority = ZJOB_PRIORITY_HIGH,
                        .tags = tags,
                        .tag_count = 1,
                        .max_attempts = 5,
                        .timeout_ms = 30000 };
    zjob_templates_t *templates = zjob_manager_templates (manager);
    cr_assert_eq (zjob_templates_set (templates, "nightly-tpl", &tpl, NULL, &err), 0, "%s",
                  err.text);
    int64_t t0 = s_utc (2026, 4, 1, 9, 0, 10);
    zjob_schedules_t *schedules = zjob_schedules_new (manager, t0, &err);
    cr_assert_not_null (schedules, "%s", err.text);
    zjob_schedule_spec_t spec = s_spec ("from-tpl", "* * * * *");
    spec.workflow_id = NULL;
    spec.template_name = "nightly-tpl";
    s_add (schedules, &spec, t0);
    cr_assert_str_eq (s_info (schedules, "from-tpl").template_name, "nightly-tpl");
    int64_t due = s_utc (2026, 4, 1, 9, 1, 0);
    cr_assert_eq (zjob_schedules_fire (schedules, due, 10), 1);
    zjob_schedule_info_t info = s_info (schedules, "from-tpl");
    cr_assert_null (info.last_error, "%s", info.last_error);
    s_assert_last_job (manager, schedules, "from-tpl", due);
    zjob_job_t *job = zjob_manager_get (manager, info.last_job, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (zjob_job_template (job), "nightly-tpl");
    cr_assert_str_eq (zjob_job_workflow (job), "backup");
    cr_assert_eq (zjob_job_priority (job), ZJOB_PRIORITY_HIGH);
    cr_assert_eq (zjob_job_max_attempts (job), 5);
    cr_assert_eq (zjob_job_timeout_ms (job), 30000);
    size_t size = 0;
    const uint8_t *data = zjob_job_inputs (job, &size);
    cr_assert_eq (size, sizeof (inputs));
    cr_assert_eq (memcmp (data, inputs, size), 0);
    size_t tag_count = 0;
    const char *const *job_tags = zjob_job_tags (job, &tag_count);
    cr_assert_eq (tag_count, 1);
    cr_assert_str_eq (job_tags [0], "ops");
    zjob_job_destroy (&job);

    //  The template replaced: the next due time makes the new settings' job
    tpl.workflow_id = "restore";
    tpl.priority = ZJOB_PRIORITY_LOW;
    tpl.tag_count = 0;
    tpl.tags = NULL;
    cr_assert_eq (zjob_templates_set (templates, "nightly-tpl", &tpl, NULL, &err), 0, "%s",
                  err.text);
    cr_assert_eq (zjob_schedules_fire (schedules, due + 60000, 10), 1);
    s_assert_last_job (manager, schedules, "from-tpl", due + 60000);
    job = zjob_manager_get (manager, s_info (schedules, "from-tpl").last_job, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (zjob_job_workflow (job), "restore");
    cr_assert_eq (zjob_job_priority (job), ZJOB_PRIORITY_LOW);
    cr_assert_str_eq (zjob_job_template (job), "nightly-tpl");
    zjob_job_destroy (&job);

    //  run_now merges the template too
    job = zjob_schedules_run_now (schedules, "from-tpl", due + 90000, &err);
    cr_assert_not_null (job, "%s", err.text);
    cr_assert_str_eq (zjob_job_template (job), "nightly-tpl");
    cr_assert_str_eq (zjob_job_schedule (job), "from-tpl");
    cr_assert_str_eq (zjob_job_workflow (job), "restore");
    cr_assert_eq (zjob_job_scheduled_for (job), due + 90000);
    data = zjob_job_inputs (job, &size);
    cr_assert_eq (size, sizeof (inputs));
    cr_assert_eq (memcmp (data, inputs, size), 0);
    zjob_job_destroy (&job);
    cr_assert_eq (zjob_manager_stored (manager), 3);
    zjob_schedules_destroy (&schedules);
    zjob_manager_destroy (&manager);
}
