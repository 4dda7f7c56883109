/*  =========================================================================
    test_zjob_template_e2e - templates as a user sees them (issue #11)

    Real processes only: zjobd on a file store in the test's directory,
    zjob-worker running a /bin/sh snippet that answers with its inputs,
    and the zjob CLI. A template's defaults are merged into a job and
    overridden by what the submit gives (the worker sees the merged
    inputs); templates survive a kill -9 of the broker and a restart;
    `zjob template` get, list and delete behave as documented; an unknown
    template is exit 3 with nothing created; STATS counts the templates.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zjob_client.h"
#include "zjob_json.h"
#include "helper_zjob_test.h"
#include "helper_zjob_e2e.h"

#define DEADLINE_MS ZJOB_E2E_DEADLINE_MS

//  What one test started; the fini stops all of it
static zjob_e2e_t s_env;

//  Run the zjob CLI with args; returns its exit status, its stdout in
//  s_cli_out
#define s_cli(...) zjob_e2e_cli (&s_env, __VA_ARGS__)
#define s_cli_out s_env.cli_out

//  The JSON the last s_cli printed (decref it)
static json_t *
s_cli_json (void)
{
    zjob_error_t err;
    json_t *value = zjob_json_parse (s_cli_out, false, &err);
    cr_assert_not_null (value, "not JSON (%s): %s", err.text, s_cli_out);
    return value;
}

//  The id `zjob submit` printed (one line)
static void
s_cli_id (char *id)
{
    cr_assert_eq (strlen (s_cli_out), ZJOB_ID_LEN + 1, "not an id: %s", s_cli_out);
    memcpy (id, s_cli_out, ZJOB_ID_LEN);
    id [ZJOB_ID_LEN] = 0;
}

//  The job's field key, as `zjob get --json` shows it (decref it)
static json_t *
s_job_field (const char *id, const char *key)
{
    cr_assert_eq (s_cli ("get", id, "--json", NULL), 0, "get %s", id);
    json_t *job = s_cli_json ();
    json_t *value = json_incref (json_object_get (job, key));
    json_decref (job);
    return value;
}

static void
s_assert_json (json_t *value, const char *expected)
{
    char *text = json_dumps (value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    cr_assert_str_eq (text, expected);
    free (text);
}

static const char *const s_broker_args [] = { "--heartbeat", "200ms", "--log-level", "info",
                                              NULL };

static void
s_setup (void)
{
    zjob_e2e_setup (&s_env, s_broker_args, 2000, 0);
}

static void
s_teardown (void)
{
    zjob_e2e_teardown (&s_env);
}

TestSuite (template_e2e, .init = s_setup, .fini = s_teardown, .timeout = 120);


//  --------------------------------------------------------------------------

Test (template_e2e, defaults_are_merged_and_overridden)
{
    //  The worker answers with the inputs it was given
    zjob_e2e_worker_start (&s_env, 0, "resize", NULL, "cat");

    cr_assert_eq (s_cli ("template", "set", "thumb", "--workflow", "resize",
                         "--input", "width=128", "--input", "height=128",
                         "--input", "format=\"png\"", "--metadata", "{\"team\": \"media\"}",
                         "--priority", "high", "--tag", "images", "--max-attempts", "4",
                         "--job-timeout", "30s", NULL),
                  0);
    cr_assert_str_eq (s_cli_out, "template thumb created\n");

    //  Only the template: its settings as they are
    cr_assert_eq (s_cli ("submit", "--template", "thumb", NULL), 0);
    char plain [ZJOB_ID_LEN + 1];
    s_cli_id (plain);
    //  Overridden: a key of the inputs, the priority, one more tag
    cr_assert_eq (s_cli ("submit", "--template", "thumb", "--input", "width=512",
                         "--input", "src=a.jpg", "--priority", "low", "--tag", "urgent", NULL),
                  0);
    char custom [ZJOB_ID_LEN + 1];
    s_cli_id (custom);

    zjob_error_t err;
    cr_assert_eq (zjob_client_wait (s_env.client, plain, DEADLINE_MS, &err), ZJOB_COMPLETED,
                  "%s", err.text);
    cr_assert_eq (zjob_client_wait (s_env.client, custom, DEADLINE_MS, &err), ZJOB_COMPLETED,
                  "%s", err.text);

    json_t *value = s_job_field (plain, "inputs");
    s_assert_json (value, "{\"format\":\"png\",\"height\":128,\"width\":128}");
    json_decref (value);
    value = s_job_field (plain, "outputs");
    s_assert_json (value, "{\"format\":\"png\",\"height\":128,\"width\":128}");
    json_decref (value);
    value = s_job_field (plain, "priority");
    s_assert_json (value, "\"high\"");
    json_decref (value);
    value = s_job_field (plain, "max_attempts");
    s_assert_json (value, "4");
    json_decref (value);
    value = s_job_field (plain, "metadata");
    s_assert_json (value, "{\"team\":\"media\"}");
    json_decref (value);
    value = s_job_field (plain, "template");
    s_assert_json (value, "\"thumb\"");
    json_decref (value);

    //  The worker saw the merged inputs: the submit's keys over the template's
    value = s_job_field (custom, "outputs");
    s_assert_json (value,
                   "{\"format\":\"png\",\"height\":128,\"src\":\"a.jpg\",\"width\":512}");
    json_decref (value);
    value = s_job_field (custom, "priority");
    s_assert_json (value, "\"low\"");
    json_decref (value);
    value = s_job_field (custom, "tags");
    s_assert_json (value, "[\"images\",\"urgent\"]");
    json_decref (value);
    value = s_job_field (custom, "workflow_id");
    s_assert_json (value, "\"resize\"");
    json_decref (value);
}

Test (template_e2e, templates_survive_a_broker_crash)
{
    cr_assert_eq (s_cli ("template", "set", "nightly", "--workflow", "backup",
                         "--input", "{\"path\": \"/srv\"}", "--tag", "db", NULL),
                  0);
    cr_assert_eq (s_cli ("template", "set", "weekly", "--workflow", "backup", NULL), 0);
    cr_assert_eq (s_cli ("template", "set", "gone", "--workflow", "backup", NULL), 0);
    //  A replace and a delete, each acknowledged before the crash
    cr_assert_eq (s_cli ("template", "set", "weekly", "--workflow", "archive", NULL), 0);
    cr_assert_str_eq (s_cli_out, "template weekly replaced\n");
    cr_assert_eq (s_cli ("template", "delete", "gone", NULL), 0);
    cr_assert_eq (s_cli ("submit", "--template", "nightly", "--no-start", NULL), 0);
    char id [ZJOB_ID_LEN + 1];
    s_cli_id (id);

    zjob_e2e_restart (&s_env);

    cr_assert_eq (s_cli ("template", "list", "--json", NULL), 0);
    json_t *list = s_cli_json ();
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 2);
    json_t *templates = json_object_get (list, "templates");
    cr_assert_eq (json_array_size (templates), 2);
    cr_assert_str_eq (json_string_value (json_object_get (json_array_get (templates, 0), "name")),
                      "nightly");
    cr_assert_str_eq (json_string_value (json_object_get (json_array_get (templates, 1),
                                                          "workflow_id")),
                      "archive");
    json_decref (list);

    cr_assert_eq (s_cli ("template", "get", "nightly", "--json", NULL), 0);
    json_t *nightly = s_cli_json ();
    s_assert_json (json_object_get (nightly, "inputs"), "{\"path\":\"/srv\"}");
    s_assert_json (json_object_get (nightly, "tags"), "[\"db\"]");
    s_assert_json (json_object_get (nightly, "workflow_id"), "\"backup\"");
    json_decref (nightly);
    cr_assert_eq (s_cli ("template", "get", "gone", NULL), 3, "a deleted template stays deleted");

    //  The job made before the crash still names its template
    json_t *value = s_job_field (id, "template");
    s_assert_json (value, "\"nightly\"");
    json_decref (value);
    //  And the templates go on working after the restart
    cr_assert_eq (s_cli ("submit", "--template", "weekly", "--no-start", NULL), 0);
    s_cli_id (id);
    value = s_job_field (id, "workflow_id");
    s_assert_json (value, "\"archive\"");
    json_decref (value);

    cr_assert_eq (s_cli ("stats", "--json", NULL), 0);
    json_t *stats = s_cli_json ();
    cr_assert_eq (json_integer_value (json_object_get (stats, "templates")), 2);
    json_decref (stats);
}

Test (template_e2e, unknown_templates_and_bad_input)
{
    cr_assert_eq (s_cli ("submit", "--template", "nope", NULL), 3);
    cr_assert_eq (s_cli ("list", "--json", NULL), 0);
    cr_assert (strstr (s_cli_out, "\"total\": 0") || strstr (s_cli_out, "\"total\":0"),
               "nothing created: %s", s_cli_out);
    cr_assert_eq (s_cli ("template", "get", "nope", NULL), 3);
    cr_assert_eq (s_cli ("template", "delete", "nope", NULL), 3);
    //  Bad input is exit 2 (or 1 for usage) with nothing sent
    cr_assert_eq (s_cli ("template", "set", "t", "--workflow", "w", "--input", "novalue", NULL), 2);
    cr_assert_eq (s_cli ("template", "set", "t", "--workflow", "w", "--tag", "a b", NULL), 2);
    cr_assert_eq (s_cli ("template", "set", "t", NULL), 1);
    cr_assert_eq (s_cli ("template", "rename", "t", NULL), 1);
    cr_assert_eq (s_cli ("template", "list", "--json", NULL), 0);
    json_t *list = s_cli_json ();
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 0);
    json_decref (list);
    //  Text output: a table of names
    cr_assert_eq (s_cli ("template", "set", "t", "--workflow", "w", "--priority", "critical",
                         NULL),
                  0);
    cr_assert_eq (s_cli ("template", "list", NULL), 0);
    cr_assert (strstr (s_cli_out, "NAME") && strstr (s_cli_out, "critical"), "%s", s_cli_out);
    cr_assert_eq (s_cli ("template", "get", "t", NULL), 0);
    cr_assert (strstr (s_cli_out, "workflow") && strstr (s_cli_out, "critical"), "%s",
               s_cli_out);
}
