/*  =========================================================================
    test_zjob_templates - templates, through the manager on the memory store

    What a user of templates counts on: set, get, list (in name order,
    paged) and delete; a template is checked as a job would be and may
    not carry a submit's own fields; at most ZJOB_TEMPLATES_MAX of them;
    a SUBMIT spec naming one gets its settings where it gives none, its
    inputs and metadata merged under its own, its tags added, and the
    job keeps the template's name; an unknown template refuses the whole
    SUBMIT with 404 naming the spec. Then the wire: a TEMPLATE request
    built as the client builds it, decoded as the broker decodes it and
    answered by zjob_template_cmd.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_manager.h"
#include "zjob_template_cmd.h"
#include "zjob_json.h"

//  --------------------------------------------------------------------------
//  Helpers

static zjob_manager_t *
s_manager (void)
{
    zjob_store_t *store = zjob_store_memory_new ();
    zjob_error_t err;
    zjob_manager_t *manager = zjob_manager_new (&store, NULL, &err);
    cr_assert_not_null (manager, "%s", err.text);
    return manager;
}

//  msgpack of a JSON object (free it)
static uint8_t *
s_map (const char *json, size_t *size_p)
{
    uint8_t *data;
    zjob_error_t err;
    cr_assert_eq (zjob_json_to_msgpack (json, &data, size_p, &err), 0, "%s", err.text);
    return data;
}

//  The JSON of a map (free it), keys sorted, "{}" for none
static char *
s_json (const uint8_t *data, size_t size)
{
    if (size == 0)
        return strdup ("{}");
    zjob_error_t err;
    json_t *value = zjob_msgpack_to_json_value (data, size, &err);
    cr_assert_not_null (value, "%s", err.text);
    char *text = json_dumps (value, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (value);
    return text;
}

static void
s_assert_map (const uint8_t *data, size_t size, const char *expected)
{
    char *text = s_json (data, size);
    cr_assert_str_eq (text, expected);
    free (text);
}

//  The template "nightly": workflow backup, inputs {"path": "/srv", "level": 1},
//  metadata {"team": "ops"}, priority high, tags [db, nightly], 5 attempts,
//  a 30 s timeout
static void
s_set_nightly (zjob_manager_t *manager)
{
    size_t inputs_size, metadata_size;
    uint8_t *inputs = s_map ("{\"path\": \"/srv\", \"level\": 1}", &inputs_size);
    uint8_t *metadata = s_map ("{\"team\": \"ops\"}", &metadata_size);
    const char *tags [] = { "db", "nightly" };
    zjob_spec_t spec = { .workflow_id = "backup",
                         .inputs = inputs,
                         .inputs_size = inputs_size,
                         .priority = ZJOB_PRIORITY_HIGH,
                         .tags = tags,
                         .tag_count = 2,
                         .metadata = metadata,
                         .metadata_size = metadata_size,
                         .max_attempts = 5,
                         .timeout_ms = 30000 };
    zjob_error_t err;
    bool created = false;
    cr_assert_eq (zjob_templates_set (zjob_manager_templates (manager), "nightly", &spec,
                                      &created, &err),
                  0, "%s", err.text);
    cr_assert (created);
    free (inputs);
    free (metadata);
}

//  Submit count specs; returns the jobs created (destroy them), or NULL
//  after the manager refused with err
static zjob_job_t **
s_submit (zjob_manager_t *manager, const zjob_spec_t *specs, size_t count, zjob_error_t *err)
{
    zjob_job_t **jobs = (zjob_job_t **) calloc (count, sizeof (zjob_job_t *));
    uint64_t existing [16];
    size_t existing_count = 0;
    cr_assert_leq (count, 16);
    if (zjob_manager_submit (manager, specs, count, true, jobs, existing, &existing_count, err)
        < 0) {
        free (jobs);
        return NULL;
    }
    return jobs;
}

static void
s_jobs_destroy (zjob_job_t **jobs, size_t count)
{
    for (size_t index = 0; index < count; index++)
        zjob_job_destroy (&jobs [index]);
    free (jobs);
}


//  --------------------------------------------------------------------------
//  The templates module

Test (templates, set_get_replace_delete)
{
    zjob_manager_t *manager = s_manager ();
    zjob_templates_t *templates = zjob_manager_templates (manager);
    cr_assert_eq (zjob_templates_count (templates), 0);
    s_set_nightly (manager);
    cr_assert_eq (zjob_templates_count (templates), 1);
    //  Stored as a record of kind "template"
    cr_assert_eq (zjob_store_record_count (zjob_manager_store (manager), "template"), 1);

    zjob_error_t err;
    zjob_template_t *got = zjob_templates_get (templates, "nightly", &err);
    cr_assert_not_null (got, "%s", err.text);
    cr_assert_str_eq (got->name, "nightly");
    cr_assert_str_eq (got->spec.workflow_id, "backup");
    s_assert_map (got->spec.inputs, got->spec.inputs_size, "{\"level\":1,\"path\":\"/srv\"}");
    s_assert_map (got->spec.metadata, got->spec.metadata_size, "{\"team\":\"ops\"}");
    cr_assert_eq (got->spec.priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (got->spec.tag_count, 2);
    cr_assert_str_eq (got->spec.tags [1], "nightly");
    cr_assert_eq (got->spec.max_attempts, 5);
    cr_assert_eq (got->spec.timeout_ms, 30000);
    cr_assert_eq (got->spec.heartbeat_timeout_ms, 0);
    cr_assert_null (got->spec.user_id);
    cr_assert_gt (got->created_at, 0);
    cr_assert_eq (got->updated_at, got->created_at);
    int64_t created_at = got->created_at;
    zjob_template_destroy (&got);

    //  A set replaces the whole template; its creation time stays
    zclock_sleep (2);  //  So that the update's time differs from the creation's
    zjob_spec_t plain = { .workflow_id = "report", .priority = ZJOB_PRIORITY_UNSET };
    bool created = true;
    cr_assert_eq (zjob_templates_set (templates, "nightly", &plain, &created, &err), 0, "%s",
                  err.text);
    cr_assert_not (created);
    got = zjob_templates_get (templates, "nightly", &err);
    cr_assert_str_eq (got->spec.workflow_id, "report");
    cr_assert_eq (got->spec.inputs_size, 0);
    cr_assert_eq (got->spec.tag_count, 0);
    cr_assert_eq (got->spec.priority, ZJOB_PRIORITY_UNSET);
    cr_assert_eq (got->spec.max_attempts, 0);
    cr_assert_eq (got->created_at, created_at);
    cr_assert_gt (got->updated_at, created_at);
    zjob_template_destroy (&got);

    cr_assert_eq (zjob_templates_delete (templates, "nightly", &err), 0);
    cr_assert_null (zjob_templates_get (templates, "nightly", &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (err.text, "no template nightly");
    cr_assert_eq (zjob_templates_delete (templates, "nightly", &err), -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_eq (zjob_templates_count (templates), 0);
    zjob_manager_destroy (&manager);
}

Test (templates, set_refuses_what_a_job_would)
{
    zjob_manager_t *manager = s_manager ();
    zjob_templates_t *templates = zjob_manager_templates (manager);
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "backup", .priority = ZJOB_PRIORITY_UNSET };
    cr_assert_eq (zjob_templates_set (templates, "bad name", &spec, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "name: not a name"), "%s", err.text);

    zjob_spec_t none = { .priority = ZJOB_PRIORITY_UNSET };
    cr_assert_eq (zjob_templates_set (templates, "t", &none, NULL, &err), -1);
    cr_assert_str_eq (err.text, "template.workflow_id: missing");

    const char *tags [] = { "ok", "not ok" };
    zjob_spec_t bad_tag = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .tags = tags, .tag_count = 2 };
    cr_assert_eq (zjob_templates_set (templates, "t", &bad_tag, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strncmp (err.text, "template.tags", 13) == 0, "%s", err.text);

    const uint8_t array [] = { 0x91, 0x01 };
    zjob_spec_t bad_inputs = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .inputs = array, .inputs_size = sizeof array };
    cr_assert_eq (zjob_templates_set (templates, "t", &bad_inputs, NULL, &err), -1);
    cr_assert_str_eq (err.text, "template.inputs: not a msgpack map");

    //  A submit's own fields
    zjob_spec_t keyed = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .idempotency_key = "k" };
    cr_assert_eq (zjob_templates_set (templates, "t", &keyed, NULL, &err), -1);
    cr_assert (strstr (err.text, "template.idempotency_key"), "%s", err.text);
    zjob_spec_t later = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .run_at = 5 };
    cr_assert_eq (zjob_templates_set (templates, "t", &later, NULL, &err), -1);
    cr_assert (strstr (err.text, "template.run_at"), "%s", err.text);
    zjob_spec_t chained = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .template_name = "other" };
    cr_assert_eq (zjob_templates_set (templates, "t", &chained, NULL, &err), -1);
    cr_assert (strstr (err.text, "template.template"), "%s", err.text);
    cr_assert_eq (zjob_templates_count (templates), 0);
    zjob_manager_destroy (&manager);
}

Test (templates, at_most_the_limit, .timeout = 60)
{
    zjob_manager_t *manager = s_manager ();
    zjob_templates_t *templates = zjob_manager_templates (manager);
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET };
    char name [32];
    for (int index = 0; index < ZJOB_TEMPLATES_MAX; index++) {
        snprintf (name, sizeof name, "t%05d", index);
        cr_assert_eq (zjob_templates_set (templates, name, &spec, NULL, &err), 0, "%s", err.text);
    }
    cr_assert_eq (zjob_templates_set (templates, "one-more", &spec, NULL, &err), -1);
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);
    //  Replacing one is not one more
    cr_assert_eq (zjob_templates_set (templates, "t00042", &spec, NULL, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_templates_delete (templates, "t00000", &err), 0);
    cr_assert_eq (zjob_templates_set (templates, "one-more", &spec, NULL, &err), 0, "%s",
                  err.text);
    cr_assert_eq (zjob_templates_count (templates), ZJOB_TEMPLATES_MAX);
    zjob_manager_destroy (&manager);
}

//  Names a list visits, joined with commas
typedef struct {
    char names [512];
} s_names_t;

static int
s_collect (zjob_template_t *template_, void *arg)
{
    s_names_t *names = (s_names_t *) arg;
    size_t used = strlen (names->names);
    snprintf (names->names + used, sizeof names->names - used, "%s%s", used ? "," : "",
              template_->name);
    zjob_template_destroy (&template_);
    return 0;
}

Test (templates, list_in_name_order_paged)
{
    zjob_manager_t *manager = s_manager ();
    zjob_templates_t *templates = zjob_manager_templates (manager);
    zjob_error_t err;
    zjob_spec_t spec = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET };
    const char *names [] = { "delta", "alpha", "echo", "charlie", "bravo" };
    for (size_t index = 0; index < 5; index++)
        cr_assert_eq (zjob_templates_set (templates, names [index], &spec, NULL, &err), 0);
    s_names_t all = { "" };
    cr_assert_eq (zjob_templates_list (templates, 0, 0, s_collect, &all), 5);
    cr_assert_str_eq (all.names, "alpha,bravo,charlie,delta,echo");
    s_names_t page = { "" };
    cr_assert_eq (zjob_templates_list (templates, 1, 2, s_collect, &page), 5);
    cr_assert_str_eq (page.names, "bravo,charlie");
    s_names_t past = { "" };
    cr_assert_eq (zjob_templates_list (templates, 9, 2, s_collect, &past), 5);
    cr_assert_str_eq (past.names, "");
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  SUBMIT with templates

Test (templates, submit_merges_defaults_and_overrides)
{
    zjob_manager_t *manager = s_manager ();
    s_set_nightly (manager);
    size_t inputs_size, metadata_size;
    uint8_t *inputs = s_map ("{\"level\": 9, \"host\": \"db1\"}", &inputs_size);
    uint8_t *metadata = s_map ("{\"ticket\": 7}", &metadata_size);
    const char *tags [] = { "nightly", "manual" };
    zjob_spec_t specs [] = {
        //  Only the template: its settings as they are
        { .template_name = "nightly", .priority = ZJOB_PRIORITY_UNSET },
        //  The spec's own settings win; maps merged; tags united
        { .template_name = "nightly", .priority = ZJOB_PRIORITY_LOW, .inputs = inputs, .inputs_size = inputs_size, .metadata = metadata, .metadata_size = metadata_size, .tags = tags, .tag_count = 2, .max_attempts = 2, .user_id = "alice" },
        //  No template: untouched
        { .workflow_id = "other", .priority = ZJOB_PRIORITY_UNSET },
    };
    zjob_error_t err;
    zjob_job_t **jobs = s_submit (manager, specs, 3, &err);
    cr_assert_not_null (jobs, "%s", err.text);

    zjob_job_t *plain = jobs [0];
    cr_assert_str_eq (zjob_job_workflow (plain), "backup");
    cr_assert_str_eq (zjob_job_template (plain), "nightly");
    cr_assert_eq (zjob_job_priority (plain), ZJOB_PRIORITY_HIGH);
    s_assert_map (plain->inputs.data, plain->inputs.size, "{\"level\":1,\"path\":\"/srv\"}");
    s_assert_map (plain->metadata.data, plain->metadata.size, "{\"team\":\"ops\"}");
    size_t count = 0;
    const char *const *got_tags = zjob_job_tags (plain, &count);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (got_tags [0], "db");
    cr_assert_eq (zjob_job_max_attempts (plain), 5);
    cr_assert_eq (zjob_job_timeout_ms (plain), 30000);

    zjob_job_t *custom = jobs [1];
    cr_assert_str_eq (zjob_job_workflow (custom), "backup");
    cr_assert_str_eq (zjob_job_template (custom), "nightly");
    cr_assert_eq (zjob_job_priority (custom), ZJOB_PRIORITY_LOW);
    cr_assert_str_eq (zjob_job_user (custom), "alice");
    s_assert_map (custom->inputs.data, custom->inputs.size,
                  "{\"host\":\"db1\",\"level\":9,\"path\":\"/srv\"}");
    s_assert_map (custom->metadata.data, custom->metadata.size,
                  "{\"team\":\"ops\",\"ticket\":7}");
    got_tags = zjob_job_tags (custom, &count);
    cr_assert_eq (count, 3, "db, nightly, manual: nightly once");
    cr_assert_str_eq (got_tags [0], "db");
    cr_assert_str_eq (got_tags [1], "nightly");
    cr_assert_str_eq (got_tags [2], "manual");
    cr_assert_eq (zjob_job_max_attempts (custom), 2);
    cr_assert_eq (zjob_job_timeout_ms (custom), 30000);

    cr_assert_str_eq (zjob_job_workflow (jobs [2]), "other");
    cr_assert_null (zjob_job_template (jobs [2]));
    s_jobs_destroy (jobs, 3);

    //  A spec's own workflow wins too; the job still records the template
    zjob_spec_t elsewhere = { .template_name = "nightly", .workflow_id = "restore", .priority = ZJOB_PRIORITY_UNSET };
    jobs = s_submit (manager, &elsewhere, 1, &err);
    cr_assert_not_null (jobs, "%s", err.text);
    cr_assert_str_eq (zjob_job_workflow (jobs [0]), "restore");
    cr_assert_str_eq (zjob_job_template (jobs [0]), "nightly");
    s_jobs_destroy (jobs, 1);
    free (inputs);
    free (metadata);
    zjob_manager_destroy (&manager);
}

Test (templates, unknown_template_refuses_the_whole_submit)
{
    zjob_manager_t *manager = s_manager ();
    s_set_nightly (manager);
    zjob_spec_t specs [] = {
        { .template_name = "nightly", .priority = ZJOB_PRIORITY_UNSET },
        { .template_name = "weekly", .priority = ZJOB_PRIORITY_UNSET },
    };
    zjob_error_t err;
    cr_assert_null (s_submit (manager, specs, 2, &err));
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    cr_assert_str_eq (err.text, "jobs[1]: template: no template weekly");
    cr_assert_eq (zjob_manager_stored (manager), 0, "all or none");
    //  A deleted template is unknown; the jobs made of it stay as they are
    zjob_job_t **jobs = s_submit (manager, specs, 1, &err);
    cr_assert_not_null (jobs);
    char id [ZJOB_ID_LEN + 1];
    snprintf (id, sizeof id, "%s", zjob_job_id (jobs [0]));
    s_jobs_destroy (jobs, 1);
    cr_assert_eq (zjob_templates_delete (zjob_manager_templates (manager), "nightly", &err), 0);
    cr_assert_null (s_submit (manager, specs, 1, &err));
    cr_assert_str_eq (err.text, "jobs[0]: template: no template nightly");
    zjob_job_t *job = zjob_manager_get (manager, id, &err);
    cr_assert_not_null (job);
    cr_assert_str_eq (zjob_job_workflow (job), "backup");
    cr_assert_str_eq (zjob_job_template (job), "nightly");
    zjob_job_destroy (&job);
    zjob_manager_destroy (&manager);
}

Test (templates, merge_past_the_size_limit_is_refused)
{
    zjob_manager_t *manager = s_manager ();
    //  A template with 700 KB of inputs, a spec with 700 KB of others
    char *big = (char *) malloc (800000);
    snprintf (big, 800000, "{\"a\": \"%0*d\"}", 700000, 0);
    size_t a_size, b_size;
    uint8_t *a = s_map (big, &a_size);
    snprintf (big, 800000, "{\"b\": \"%0*d\"}", 700000, 0);
    uint8_t *b = s_map (big, &b_size);
    zjob_spec_t spec = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .inputs = a, .inputs_size = a_size };
    zjob_error_t err;
    cr_assert_eq (zjob_templates_set (zjob_manager_templates (manager), "big", &spec, NULL, &err),
                  0, "%s", err.text);
    zjob_spec_t submit = { .template_name = "big", .priority = ZJOB_PRIORITY_UNSET, .inputs = b, .inputs_size = b_size };
    cr_assert_null (s_submit (manager, &submit, 1, &err));
    cr_assert_eq (err.code, ZJOB_TOO_LARGE);
    cr_assert (strstr (err.text, "jobs[0]: inputs: merged with the template's"), "%s", err.text);
    //  Overriding the big key keeps it in bounds
    snprintf (big, 800000, "{\"a\": 1}");
    free (b);
    b = s_map (big, &b_size);
    submit.inputs = b;
    submit.inputs_size = b_size;
    zjob_job_t **jobs = s_submit (manager, &submit, 1, &err);
    cr_assert_not_null (jobs, "%s", err.text);
    s_assert_map (jobs [0]->inputs.data, jobs [0]->inputs.size, "{\"a\":1}");
    s_jobs_destroy (jobs, 1);
    free (a);
    free (b);
    free (big);
    zjob_manager_destroy (&manager);
}

Test (templates, idempotency_key_sees_the_merged_spec)
{
    zjob_manager_t *manager = s_manager ();
    s_set_nightly (manager);
    zjob_spec_t spec = { .template_name = "nightly", .priority = ZJOB_PRIORITY_UNSET, .idempotency_key = "run-1" };
    zjob_error_t err;
    zjob_job_t **first = s_submit (manager, &spec, 1, &err);
    cr_assert_not_null (first, "%s", err.text);
    zjob_job_t **again = s_submit (manager, &spec, 1, &err);
    cr_assert_not_null (again, "%s", err.text);
    cr_assert_str_eq (zjob_job_id (first [0]), zjob_job_id (again [0]));
    cr_assert_eq (zjob_manager_stored (manager), 1);
    s_jobs_destroy (first, 1);
    s_jobs_destroy (again, 1);
    zjob_manager_destroy (&manager);
}


//  --------------------------------------------------------------------------
//  TEMPLATE on the wire: client builder -> broker decode -> zjob_template_cmd

//  Encode what builder holds, decode it on route; the message (destroy it)
static zjob_msg_t *
s_round_trip (zjob_msg_builder_t *builder, zjob_route_t route, zjob_error_t *err)
{
    zjob_error_t end_err;
    zframe_t *frame = zjob_msg_end (builder, &end_err);
    cr_assert_not_null (frame, "%s", end_err.text);
    zjob_msg_t *msg = zjob_msg_decode (zframe_data (frame), zframe_size (frame), route, err);
    if (msg)
        zjob_msg_adopt (msg, &frame);  //  Its strings may point into the frame
    zframe_destroy (&frame);
    return msg;
}

//  Send a TEMPLATE built by fill through the broker's handler; the OK
//  decoded as the client reads it (destroy it), or NULL with err filled
static zjob_msg_t *
s_call (zjob_manager_t *manager, void (*fill) (zjob_msg_builder_t *, void *), void *arg,
        int *rc_p, zjob_error_t *err)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_TEMPLATE, 7);
    fill (builder, arg);
    zjob_msg_t *request = s_round_trip (builder, ZJOB_ROUTE_CLIENT_BROKER, err);
    zjob_msg_t *reply = NULL;
    if (request) {
        *rc_p = zjob_template_cmd (zjob_manager_templates (manager), request, builder, 7, err);
        if (*rc_p >= 0) {
            reply = s_round_trip (builder, ZJOB_ROUTE_BROKER_CLIENT, err);
            cr_assert_not_null (reply, "%s", err->text);
            cr_assert_eq (zjob_msg_check_reply (reply, ZJOB_CMD_TEMPLATE, err), 0, "%s",
                          err->text);
        }
    }
    zjob_msg_destroy (&request);
    zjob_msg_builder_destroy (&builder);
    return reply;
}

static void
s_fill_set (zjob_msg_builder_t *builder, void *arg)
{
    zjob_msg_add_str (builder, "op", "set");
    zjob_msg_add_str (builder, "name", "nightly");
    zjob_msg_add_spec (builder, "template", (const zjob_spec_t *) arg);
}

static void
s_fill_get (zjob_msg_builder_t *builder, void *arg)
{
    zjob_msg_add_str (builder, "op", "get");
    zjob_msg_add_str (builder, "name", (const char *) arg);
}

static void
s_fill_list (zjob_msg_builder_t *builder, void *arg)
{
    zjob_msg_add_str (builder, "op", "list");
    zjob_msg_add_uint (builder, "limit", 1);
    (void) arg;
}

static void
s_fill_delete (zjob_msg_builder_t *builder, void *arg)
{
    zjob_msg_add_str (builder, "op", "delete");
    zjob_msg_add_str (builder, "name", (const char *) arg);
}

Test (templates, the_template_command)
{
    zjob_manager_t *manager = s_manager ();
    size_t inputs_size;
    uint8_t *inputs = s_map ("{\"path\": \"/srv\"}", &inputs_size);
    const char *tags [] = { "db" };
    zjob_spec_t spec = { .workflow_id = "backup", .inputs = inputs, .inputs_size = inputs_size, .priority = ZJOB_PRIORITY_UNSET, .tags = tags, .tag_count = 1, .max_attempts = ZJOB_ATTEMPTS_UNLIMITED, .heartbeat_timeout_ms = ZJOB_TIMEOUT_NONE };
    zjob_error_t err;
    int rc = -9;
    zjob_msg_t *reply = s_call (manager, s_fill_set, &spec, &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (rc, 1, "a set confirms a change");
    cr_assert_str_eq (zjob_msg_str (reply, "name"), "nightly");
    cr_assert (zjob_msg_bool (reply, "created", false));
    zjob_msg_destroy (&reply);

    reply = s_call (manager, s_fill_get, "nightly", &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (rc, 0, "a get is a read");
    zjob_spec_t got;
    cr_assert_eq (zjob_msg_template (reply, "template", &got, &err), 0, "%s", err.text);
    cr_assert_str_eq (got.workflow_id, "backup");
    cr_assert_eq (got.priority, ZJOB_PRIORITY_UNSET, "not set, not medium");
    s_assert_map (got.inputs, got.inputs_size, "{\"path\":\"/srv\"}");
    cr_assert_eq (got.tag_count, 1);
    cr_assert_eq (got.max_attempts, ZJOB_ATTEMPTS_UNLIMITED);
    cr_assert_eq (got.heartbeat_timeout_ms, ZJOB_TIMEOUT_NONE);
    const msgpack_object *map = zjob_msg_field (reply, "template");
    cr_assert_not_null (map);
    json_t *object = zjob_msgpack_object_to_json (map);
    cr_assert_str_eq (json_string_value (json_object_get (object, "name")), "nightly");
    cr_assert (json_integer_value (json_object_get (object, "created_at")) > 0);
    json_decref (object);
    zjob_msg_destroy (&reply);

    reply = s_call (manager, s_fill_list, NULL, &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (zjob_msg_uint (reply, "total", 0), 1);
    const msgpack_object *page = zjob_msg_field (reply, "templates");
    cr_assert_eq (page->via.array.size, 1);
    zjob_msg_destroy (&reply);

    cr_assert_null (s_call (manager, s_fill_get, "weekly", &rc, &err));
    cr_assert_eq (rc, -1);
    cr_assert_eq (err.code, ZJOB_NOT_FOUND);
    reply = s_call (manager, s_fill_delete, "nightly", &rc, &err);
    cr_assert_not_null (reply, "%s", err.text);
    cr_assert_eq (rc, 1);
    zjob_msg_destroy (&reply);
    cr_assert_eq (zjob_templates_count (zjob_manager_templates (manager)), 0);
    free (inputs);
    zjob_manager_destroy (&manager);
}

//  The decoder's refusals of a TEMPLATE body
static void
s_fill_bad (zjob_msg_builder_t *builder, void *arg)
{
    int which = *(int *) arg;
    zjob_spec_t spec = { .workflow_id = "w", .priority = ZJOB_PRIORITY_UNSET, .idempotency_key = "k" };
    zjob_msg_add_str (builder, "op", which == 0 ? "rename" : which == 3 ? "get"
                                                                        : "set");
    if (which != 1)
        zjob_msg_add_str (builder, "name", "t");
    if (which == 2 || which == 3)
        zjob_msg_add_spec (builder, "template", &spec);
}

Test (templates, the_decoder_checks_each_op)
{
    zjob_manager_t *manager = s_manager ();
    const char *says [] = {
        "op: set, get, list or delete",
        "name: missing",
        "template.idempotency_key",
        "template: only with op set",
    };
    for (int which = 0; which < 4; which++) {
        zjob_error_t err = { 0, "" };
        int rc = -9;
        zjob_msg_t *reply = s_call (manager, s_fill_bad, &which, &rc, &err);
        cr_assert_null (reply, "case %d answered", which);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "case %d: %d %s", which, err.code, err.text);
        cr_assert (strstr (err.text, says [which]), "case %d: %s", which, err.text);
    }
    zjob_manager_destroy (&manager);
}
