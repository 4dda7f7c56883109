/*  =========================================================================
    test_zjob_cli - the zjob command line, used as a person or a script would

    Every test starts the real zjobd (memory store, ephemeral ports, read
    from its ready line) and runs the real zjob binary as a child process
    with pipes on stdin, stdout and stderr, then checks what it printed and
    its exit code. Jobs that must run are taken by a worker of the worker
    library on a thread of the test. Children get PR_SET_PDEATHSIG, and the
    suite's fini stops the broker, so nothing outlives a failed test. The
    child processes, the broker and the worker are test_zjob_cli_child.h's,
    shared with test_zjob_cli_exit.c.
    ========================================================================= */

#include "test_zjob_cli_child.h"

TestSuite (zjob_cli, .init = s_broker_start, .fini = s_broker_stop, .timeout = 120);


//  --------------------------------------------------------------------------
//  submit and get

Test (zjob_cli, submit_json_prints_the_job_and_get_reads_it)
{
    s_child_t *child = s_zjob ("submit", "resize", "--input", "{\"width\": 640, \"name\": \"cat\"}",
                               "--priority", "high", "--user", "ann", "--tag", "red",
                               "--tag", "big", "--json");
    cr_assert_eq (child->code, 0, "stderr: %s", child->err);
    json_t *job = s_json (child);
    const char *id = json_string_value (json_object_get (job, "id"));
    cr_assert (zjob_id_valid (id), "id: %s", id);
    cr_assert_str_eq (json_string_value (json_object_get (job, "workflow_id")), "resize");
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "queued");
    cr_assert_str_eq (json_string_value (json_object_get (job, "priority")), "high");
    cr_assert_str_eq (json_string_value (json_object_get (job, "user_id")), "ann");
    cr_assert_eq (json_array_size (json_object_get (job, "tags")), 2);
    json_t *inputs = json_object_get (job, "inputs");
    cr_assert_eq (json_integer_value (json_object_get (inputs, "width")), 640);
    cr_assert_str_eq (json_string_value (json_object_get (inputs, "name")), "cat");
    s_child_destroy (&child);

    //  get, as JSON and as text
    child = s_zjob ("get", id, "--json");
    cr_assert_eq (child->code, 0, "stderr: %s", child->err);
    json_t *got = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (got, "id")), id);
    cr_assert (json_equal (json_object_get (got, "inputs"), inputs));
    cr_assert (json_is_string (json_object_get (got, "created_at")));
    cr_assert (json_is_integer (json_object_get (got, "created_at_ms")));
    json_decref (got);
    s_child_destroy (&child);

    child = s_zjob ("get", id);
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, id);
    s_assert_contains (child->out, "queued");
    s_assert_contains (child->out, "red, big");
    s_assert_contains (child->out, "ago)");
    s_assert_contains (child->out, "{\"width\":640,\"name\":\"cat\"}");
    s_child_destroy (&child);
    json_decref (job);

    //  Without --json: the id alone
    child = s_zjob ("submit", "resize");
    cr_assert_eq (child->code, 0);
    cr_assert_eq (strlen (child->out), ZJOB_ID_LEN + 1, "'%s'", child->out);
    s_child_destroy (&child);
}

Test (zjob_cli, get_unknown_id_exits_3)
{
    s_child_t *child = s_zjob ("get", "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (child->code, 3, "stderr: %s", child->err);
    cr_assert_str_eq (child->out, "");
    s_assert_contains (child->err, "zjob get: job 01JD6ZQ8XKTBV3M9W2N4 not found");
    s_assert_contains (child->err, "zjob list");
    s_child_destroy (&child);

    //  Something that cannot be an id at all
    child = s_zjob ("get", "nonsense");
    cr_assert_eq (child->code, 3);
    s_assert_contains (child->err, "no job can have id 'nonsense'");
    s_child_destroy (&child);
}

Test (zjob_cli, bad_json_input_exits_2_and_names_the_problem)
{
    s_child_t *child = s_zjob ("submit", "resize", "--input", "{\"width\": x}");
    cr_assert_eq (child->code, 2);
    cr_assert_str_eq (child->err, "zjob submit: inputs: invalid JSON at line 1 column 11: "
                                  "invalid token near 'x'\n");
    s_child_destroy (&child);

    child = s_zjob ("submit", "resize", "--input", "[1, 2]");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err,
                       "inputs: expected a JSON object such as {\"x\": 1}, got an array");
    s_child_destroy (&child);

    child = s_zjob ("submit", "resize", "--metadata", "{\"a\": 1,}");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "metadata: invalid JSON at line 1 column 9");
    s_child_destroy (&child);

    //  Fields the job model refuses, before any broker is asked
    child = s_zjob ("submit", "bad workflow");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "workflow_id");
    s_child_destroy (&child);

    child = s_zjob ("submit", "resize", "--priority", "urgent");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "--priority: 'urgent' is not low, medium, high or critical");
    s_child_destroy (&child);

    //  Nothing was created
    child = s_zjob ("list", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 0);
    json_decref (list);
    s_child_destroy (&child);
}

Test (zjob_cli, inputs_from_file_and_stdin)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/inputs.json", s_tmp);
    FILE *file = fopen (path, "w");
    fputs ("{\n  \"from\": \"file\",\n  \"n\": [1, 2, 3]\n}\n", file);
    fclose (file);
    char arg [1100];
    snprintf (arg, sizeof arg, "@%s", path);
    char *id = s_submit ("resize", arg, NULL);
    s_child_t *child = s_zjob ("get", id, "--json");
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (json_object_get (job, "inputs"),
                                                          "from")),
                      "file");
    json_decref (job);
    s_child_destroy (&child);
    free (id);

    child = s_zjob_in ("{\"from\": \"stdin\", \"caf\xc3\xa9\": \"\xe2\x82\xac\"}",
                       "submit", "resize", "--input", "-", "--json", NULL);
    cr_assert_eq (child->code, 0, "%s", child->err);
    job = s_json (child);
    json_t *inputs = json_object_get (job, "inputs");
    cr_assert_str_eq (json_string_value (json_object_get (inputs, "from")), "stdin");
    cr_assert_str_eq (json_string_value (json_object_get (inputs, "caf\xc3\xa9")), "\xe2\x82\xac");
    json_decref (job);
    s_child_destroy (&child);

    //  A file with an error: where it is, and which file
    file = fopen (path, "w");
    fputs ("{\n  \"from\": \"file\"\n  \"n\": 1\n}\n", file);
    fclose (file);
    child = s_zjob ("submit", "resize", "--input", arg);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "inputs (from ");
    s_assert_contains (child->err, "invalid JSON at line 3 column");
    s_child_destroy (&child);

    snprintf (arg, sizeof arg, "@%s/missing.json", s_tmp);
    child = s_zjob ("submit", "resize", "--input", arg);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "cannot read");
    s_assert_contains (child->err, "No such file or directory");
    s_child_destroy (&child);

    //  Empty stdin
    child = s_zjob_in ("", "submit", "resize", "--input", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "inputs (from stdin): no JSON given");
    s_child_destroy (&child);
}

Test (zjob_cli, batch_submit_from_json_lines)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/jobs.jsonl", s_tmp);
    FILE *file = fopen (path, "w");
    fputs ("{\"inputs\": {\"n\": 1}}\n"
           "\n"
           "{\"inputs\": {\"n\": 2}, \"priority\": \"critical\", \"tags\": [\"t1\"]}\n"
           "{\"workflow_id\": \"other\", \"user_id\": \"bob\","
           " \"run_at\": \"2020-01-01T00:00:00Z\"}\n",
           file);
    fclose (file);
    s_child_t *child = s_zjob ("submit", "batchwf", "--batch", path, "--no-start");
    cr_assert_eq (child->code, 0, "%s", child->err);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r (child->out, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save), lines++)
        cr_assert (zjob_id_valid (line), "'%s'", line);
    cr_assert_eq (lines, 3);
    s_child_destroy (&child);

    child = s_zjob ("list", "--status", "created", "--sort", "priority", "--desc", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 3);
    json_t *first = json_array_get (json_object_get (list, "jobs"), 0);
    cr_assert_str_eq (json_string_value (json_object_get (first, "priority")), "critical");
    cr_assert_eq (json_integer_value (json_object_get (json_object_get (first, "inputs"), "n")), 2);
    json_decref (list);
    s_child_destroy (&child);

    child = s_zjob ("list", "--workflow", "other", "--user", "bob", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 1);
    json_decref (list);
    s_child_destroy (&child);

    //  From stdin, with --json
    child = s_zjob_in ("{\"inputs\": {}}\n{\"inputs\": {}}\n", "submit", "batchwf", "--batch",
                       "-", "--json", NULL);
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "count")), 2);
    cr_assert_eq (json_array_size (json_object_get (result, "ids")), 2);
    json_decref (result);
    s_child_destroy (&child);

    //  A bad line: its number, and nothing submitted
    child = s_zjob_in ("{\"inputs\": {}}\n{\"inputs\": {\"n\": }}\n", "submit", "batchwf",
                       "--batch", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "stdin line 2: invalid JSON at line 1 column");
    s_assert_contains (child->err, "nothing was submitted");
    s_child_destroy (&child);
    child = s_zjob_in ("{\"input\": {}}\n", "submit", "batchwf", "--batch", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "line 1: unknown key \"input\"");
    s_child_destroy (&child);
    child = s_zjob_in ("{\"inputs\": {}}\n", "submit", "--batch", "-", NULL);
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "workflow_id: required");
    s_child_destroy (&child);

    child = s_zjob ("list", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 5);
    json_decref (list);
    s_child_destroy (&child);
}


//  --------------------------------------------------------------------------
//  list

Test (zjob_cli, list_filters_sorts_and_pages)
{
    const char *priorities [] = { "low", "high", "medium", "critical", "low" };
    char *ids [5];
    for (int index = 0; index < 5; index++) {
        char input [32];
        snprintf (input, sizeof input, "{\"i\": %d}", index);
        s_child_t *child = s_zjob ("submit", index < 4 ? "listwf" : "elsewf", "--input", input,
                                   "--priority", priorities [index], "--tag",
                                   index % 2 ? "odd" : "even", "--no-start", "--json");
        cr_assert_eq (child->code, 0, "%s", child->err);
        json_t *job = s_json (child);
        ids [index] = strdup (json_string_value (json_object_get (job, "id")));
        json_decref (job);
        s_child_destroy (&child);
    }
    //  Workflow, sorted by priority from the top, second page of 2
    s_child_t *child = s_zjob ("list", "--workflow", "listwf", "--sort", "priority", "--desc",
                               "--limit", "2", "--offset", "1", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 4);
    cr_assert_eq (json_integer_value (json_object_get (list, "offset")), 1);
    cr_assert_eq (json_integer_value (json_object_get (list, "count")), 2);
    json_t *jobs = json_object_get (list, "jobs");
    cr_assert_str_eq (s_job_id (jobs, 0), ids [1]);
    cr_assert_str_eq (s_job_id (jobs, 1), ids [2]);
    json_decref (list);
    s_child_destroy (&child);

    //  Tag, in creation order
    child = s_zjob ("list", "--tag", "odd", "--asc", "--json");
    list = s_json (child);
    jobs = json_object_get (list, "jobs");
    cr_assert_eq (json_array_size (jobs), 2);
    cr_assert_str_eq (s_job_id (jobs, 0), ids [1]);
    cr_assert_str_eq (s_job_id (jobs, 1), ids [3]);
    json_decref (list);
    s_child_destroy (&child);

    //  Created in the last hour, but not before a future time: all
    child = s_zjob ("list", "--created-after", "1h", "--created-before", "2999-01-01", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 5);
    json_decref (list);
    s_child_destroy (&child);

    //  --all pages through everything, however small the page
    child = s_zjob ("list", "--all", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "count")), 5);
    json_decref (list);
    s_child_destroy (&child);

    //  The table for people
    child = s_zjob ("list", "--workflow", "listwf", "--limit", "3", "--asc");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "ID                    WORKFLOW  STATUS   PRIORITY");
    s_assert_contains (child->out, ids [0]);
    s_assert_contains (child->out, "jobs 1-3 of 4 (more with --offset or --all)");
    s_child_destroy (&child);

    child = s_zjob ("list", "--status", "bogus");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "unknown status 'bogus'");
    s_child_destroy (&child);
    for (int index = 0; index < 5; index++)
        free (ids [index]);
}


//  A job submitted without --priority is medium, alone or in a batch
Test (zjob_cli, default_priority_is_medium)
{
    s_child_t *child = s_zjob ("submit", "priowf", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "priority")), "medium");
    json_decref (job);
    s_child_destroy (&child);
    child = s_zjob_in ("{\"inputs\": {}}\n", "submit", "priowf", "--batch", "-", NULL);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    child = s_zjob ("list", "--workflow", "priowf", "--json");
    json_t *list = s_json (child);
    json_t *jobs = json_object_get (list, "jobs");
    cr_assert_eq (json_array_size (jobs), 2);
    for (size_t index = 0; index < 2; index++)
        cr_assert_str_eq (json_string_value (json_object_get (json_array_get (jobs, index),
                                                              "priority")),
                          "medium");
    json_decref (list);
    s_child_destroy (&child);
}

//  --status scheduled and --status ready split the queued jobs of a
//  workflow nobody serves by whether their run time has come
Test (zjob_cli, list_scheduled_and_ready)
{
    char *ids [2];
    const char *delays [] = { "1h", NULL };
    for (int index = 0; index < 2; index++) {
        s_child_t *child = delays [index]
            ? s_zjob ("submit", "schedwf", "--delay", delays [index], "--json")
            : s_zjob ("submit", "schedwf", "--json");
        cr_assert_eq (child->code, 0, "%s", child->err);
        json_t *job = s_json (child);
        ids [index] = strdup (json_string_value (json_object_get (job, "id")));
        json_decref (job);
        s_child_destroy (&child);
    }
    const char *which [] = { "scheduled", "ready", "scheduled,ready" };
    const size_t totals [] = { 1, 1, 2 };
    for (int index = 0; index < 3; index++) {
        s_child_t *child = s_zjob ("list", "--workflow", "schedwf", "--status", which [index],
                                   "--asc", "--json");
        cr_assert_eq (child->code, 0, "%s: %s", which [index], child->err);
        json_t *list = s_json (child);
        cr_assert_eq (json_integer_value (json_object_get (list, "total")), (json_int_t) totals [index],
                      "--status %s", which [index]);
        json_t *jobs = json_object_get (list, "jobs");
        cr_assert_str_eq (s_job_id (jobs, 0), ids [index == 1]);
        json_decref (list);
        s_child_destroy (&child);
    }
    s_child_t *child = s_zjob ("list", "--status", "scheduled,running");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "cannot be combined");
    s_child_destroy (&child);
    for (int index = 0; index < 2; index++)
        free (ids [index]);
}


//  --------------------------------------------------------------------------
//  start, pause, resume, cancel, delete

Test (zjob_cli, lifecycle_and_illegal_transition)
{
    char *id = s_submit ("nobody", "{}", "--no-start");
    s_child_t *child = s_zjob ("start", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "started, now queued");
    s_child_destroy (&child);

    child = s_zjob ("pause", id, "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (result, "status")), "paused");
    json_decref (result);
    s_child_destroy (&child);

    child = s_zjob ("pause", id);
    cr_assert_eq (child->code, 4);
    s_assert_contains (child->err, "zjob pause: job ");
    s_assert_contains (child->err, "is paused; cannot pause");
    s_assert_contains (child->err, "'zjob help' shows which operation each status allows");
    s_child_destroy (&child);

    child = s_zjob ("resume", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "resumed, now queued");
    s_child_destroy (&child);

    child = s_zjob ("status", id, "--json");
    cr_assert_eq (child->code, 0);
    result = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (result, "status")), "queued");
    json_decref (result);
    s_child_destroy (&child);

    child = s_zjob ("cancel", id);
    cr_assert_eq (child->code, 0);
    s_child_destroy (&child);
    child = s_zjob ("resume", id);
    cr_assert_eq (child->code, 4);
    s_assert_contains (child->err, "is cancelled; cannot resume");
    s_child_destroy (&child);

    //  A cancelled job has no results, and waiting for it ends at once
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 6);
    s_assert_contains (child->err, "was cancelled: it has no results");
    s_child_destroy (&child);
    child = s_zjob ("wait", id, "--timeout", "5");
    cr_assert_eq (child->code, 6);
    s_assert_contains (child->out, "cancelled");
    s_child_destroy (&child);

    child = s_zjob ("delete", id);
    cr_assert_eq (child->code, 0);
    s_child_destroy (&child);
    child = s_zjob ("get", id);
    cr_assert_eq (child->code, 3);
    s_child_destroy (&child);
    child = s_zjob ("delete", id);
    cr_assert_eq (child->code, 3);
    s_child_destroy (&child);
    free (id);
}

Test (zjob_cli, cancel_and_delete_by_filter)
{
    char *ids [4];
    for (int index = 0; index < 3; index++)
        ids [index] = s_submit ("cancelwf", "{}", NULL);
    ids [3] = s_submit ("keepwf", "{}", NULL);

    //  Never everything by accident
    s_child_t *child = s_zjob ("cancel");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "which jobs? give their ids, or a filter");
    s_child_destroy (&child);
    child = s_zjob ("delete", ids [0], "--workflow", "cancelwf");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "not both");
    s_child_destroy (&child);

    child = s_zjob ("cancel", "--workflow", "cancelwf", "--status", "queued", "--dry-run");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "3 jobs match");
    s_child_destroy (&child);

    child = s_zjob ("cancel", "--workflow", "cancelwf", "--status", "queued");
    cr_assert_eq (child->code, 0, "%s", child->err);
    cr_assert_str_eq (child->out, "cancelled 3 jobs\n");
    s_child_destroy (&child);

    child = s_zjob ("list", "--status", "cancelled", "--json");
    json_t *list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 3);
    json_decref (list);
    s_child_destroy (&child);
    child = s_zjob ("status", ids [3]);
    s_assert_contains (child->out, "queued");
    s_child_destroy (&child);

    //  Several ids, one of them in a status that does not allow it
    child = s_zjob ("pause", ids [0], ids [3], "--json");
    cr_assert_eq (child->code, 4, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "done")), 1);
    cr_assert_eq (json_integer_value (json_object_get (result, "failed")), 1);
    json_decref (result);
    s_assert_contains (child->err, ids [0]);
    s_child_destroy (&child);

    child = s_zjob ("delete", "--status", "cancelled", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "done")), 3);
    json_decref (result);
    s_child_destroy (&child);
    child = s_zjob ("list", "--json");
    list = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (list, "total")), 1);
    json_decref (list);
    s_child_destroy (&child);
    for (int index = 0; index < 4; index++)
        free (ids [index]);
}


//  --------------------------------------------------------------------------
//  wait, watch, result, with a worker

Test (zjob_cli, wait_prints_the_finished_job)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("echo", "{\"x\": [1, 2.5, \"three\"]}", NULL);
    s_child_t *child = s_zjob ("wait", id, "--timeout", "15", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "completed");
    json_t *outputs = json_object_get (job, "outputs");
    cr_assert (json_is_true (json_object_get (outputs, "ok")));
    json_t *expected = json_loads ("{\"x\": [1, 2.5, \"three\"]}", 0, NULL);
    cr_assert (json_equal (json_object_get (outputs, "echo"), expected));
    json_decref (expected);
    json_decref (job);
    s_child_destroy (&child);

    //  The same for people, and the results
    child = s_zjob ("wait", id);
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, " completed after ");
    s_assert_contains (child->out, "\"ok\":true");
    s_child_destroy (&child);
    child = s_zjob ("result", id, "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert (json_is_true (json_object_get (json_object_get (result, "outputs"), "ok")));
    json_decref (result);
    s_child_destroy (&child);
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 0);
    result = s_json (child);
    cr_assert (json_is_true (json_object_get (result, "ok")));
    json_decref (result);
    s_child_destroy (&child);
    free (id);

    //  A job that fails: exit 6 and its error
    id = s_submit ("fail", "{}", NULL);
    child = s_zjob ("wait", id, "--timeout", "15s", "--json");
    cr_assert_eq (child->code, 6, "%s", child->err);
    job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "failed");
    json_t *error = json_object_get (job, "error");
    cr_assert_str_eq (json_string_value (json_object_get (error, "kind")), "rejected");
    json_decref (job);
    s_child_destroy (&child);
    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 6);
    s_assert_contains (child->err, "failed: rejected: the input was rejected");
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}

Test (zjob_cli, wait_times_out)
{
    char *id = s_submit ("nobody", "{}", NULL);
    s_child_t *child = s_zjob ("wait", id, "--timeout", "300ms");
    cr_assert_eq (child->code, 7, "%s", child->err);
    s_assert_contains (child->err, "is still queued after 300ms");
    s_assert_contains (child->err, "--timeout");
    cr_assert_lt (child->elapsed_ms, 5000);
    s_child_destroy (&child);

    //  With --json, the job as it is
    child = s_zjob ("wait", id, "--timeout", "0.1", "--json");
    cr_assert_eq (child->code, 7);
    json_t *job = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (job, "status")), "queued");
    json_decref (job);
    s_child_destroy (&child);

    child = s_zjob ("result", id);
    cr_assert_eq (child->code, 4);
    s_assert_contains (child->err, "is queued and has no results yet");
    s_child_destroy (&child);
    free (id);
}

Test (zjob_cli, watch_follows_progress_to_the_end)
{
    atomic_store (&s_release, 0);
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("slow", "{}", NULL);

    s_wait_halfway (id);

    //  watch (not a terminal: one JSON object a line) shows it running,
    //  then completed once the worker is let go
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "watch", id, "--events",
                      s_events, "--json", "--timeout", "30", NULL };
    s_child_t *child = s_spawn (argv, NULL);
    char *line = s_child_line (child, 10000);
    cr_assert_not_null (line, "watch printed nothing: %s", child->err);
    json_t *event = json_loads (line, 0, NULL);
    cr_assert_not_null (event, "'%s'", line);
    cr_assert_str_eq (json_string_value (json_object_get (event, "status")), "running");
    cr_assert_eq (json_real_value (json_object_get (event, "progress")), 0.5);
    cr_assert_str_eq (json_string_value (json_object_get (event, "message")), "half way");
    json_decref (event);
    free (line);

    atomic_store (&s_release, 1);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    char *last = strrchr (child->out, '{');
    cr_assert_not_null (last, "'%s'", child->out);
    event = json_loads (last, 0, NULL);
    cr_assert_not_null (event, "'%s'", last);
    cr_assert_str_eq (json_string_value (json_object_get (event, "status")), "completed");
    json_decref (event);
    s_child_destroy (&child);

    //  Text, one line per event, on a finished job: its state and outcome
    child = s_zjob ("watch", id);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "completed");
    s_assert_contains (child->out, " completed after ");
    s_child_destroy (&child);

    child = s_zjob ("watch", "01JD6ZQ8XKTBV3M9W2N4");
    cr_assert_eq (child->code, 3);
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}


Test (zjob_cli, watch_draws_a_progress_bar_on_a_terminal)
{
    atomic_store (&s_release, 0);
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("slow", "{}", NULL);
    s_wait_halfway (id);

    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", s_clients, "--events", s_events,
                      "watch", id, NULL };
    s_child_t *child = s_spawn_to (argv, NULL, NULL, true);
    //  The bar, half full, redrawn in place
    cr_assert (s_child_wait_for (child, "running   [###############...............]  50%  "
                                        "half way",
                                 10000),
               "'%s'", child->out);
    s_assert_contains (child->out, "\r\033[K");
    atomic_store (&s_release, 1);
    cr_assert (s_child_wait_for (child, " completed after ", 10000), "'%s'", child->out);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    free (id);
    s_worker_stop (&worker);
}


//  --------------------------------------------------------------------------
//  The broker as a whole: stats, workers, cleanup, and no broker at all

Test (zjob_cli, stats_and_workers)
{
    s_worker_t *worker = s_worker_start ();
    char *id = s_submit ("echo", "{}", NULL);
    s_child_t *child = s_zjob ("wait", id, "--timeout", "15");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    free (id);

    child = s_zjob ("stats");
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_assert_contains (child->out, "jobs       1 stored");
    //  The job is done: nothing counts against the default limits
    s_assert_contains (child->out, "not run    0 of 1000000 jobs not yet run, 0 of 1073741824 "
                                   "bytes of their inputs");
    s_assert_contains (child->out, "workers    1 connected");
    s_assert_contains (child->out, "WORKFLOW  CREATED  QUEUED  RUNNING  PAUSED  COMPLETED");
    s_assert_contains (child->out, "(all)");
    s_assert_contains (child->out, "echo");
    s_child_destroy (&child);

    child = s_zjob ("stats", "--json");
    cr_assert_eq (child->code, 0);
    json_t *stats = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (stats, "jobs")), 1);
    cr_assert_eq (json_integer_value (json_object_get (json_object_get (stats, "by_status"),
                                                       "completed")),
                  1);
    json_decref (stats);
    s_child_destroy (&child);

    child = s_zjob ("workers", "--json");
    cr_assert_eq (child->code, 0);
    json_t *body = s_json (child);
    json_t *workers = json_object_get (body, "workers");
    cr_assert_eq (json_array_size (workers), 1);
    json_t *first = json_array_get (workers, 0);
    cr_assert_str_eq (json_string_value (json_object_get (first, "name")), "cli-test");
    cr_assert_eq (json_integer_value (json_object_get (first, "slots")), 2);
    json_decref (body);
    s_child_destroy (&child);

    child = s_zjob ("workers");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "WORKER");
    s_assert_contains (child->out, "cli-test");
    s_assert_contains (child->out, "echo,fail,slow");
    s_assert_contains (child->out, "1 worker connected");
    s_child_destroy (&child);

    //  cleanup of every finished job
    child = s_zjob ("cleanup", "--older-than", "0", "--json");
    cr_assert_eq (child->code, 0, "%s", child->err);
    json_t *result = s_json (child);
    cr_assert_eq (json_integer_value (json_object_get (result, "deleted")), 1);
    json_decref (result);
    s_child_destroy (&child);
    s_worker_stop (&worker);
}

Test (zjob_cli, broker_from_the_environment)
{
    char *argv [] = { ZJOB_BIN_DIR "/zjob", "stats", "--json", NULL };
    setenv ("ZJOB_BROKER", s_clients, 1);
    s_child_t *child = s_spawn (argv, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 0, "%s", child->err);
    s_child_destroy (&child);
    unsetenv ("ZJOB_BROKER");
}

Test (zjob_cli, no_broker_exits_5_quickly)
{
    //  A port nothing listens on
    int sock = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    cr_assert_eq (bind (sock, (struct sockaddr *) &address, length), 0);
    cr_assert_eq (getsockname (sock, (struct sockaddr *) &address, &length), 0);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ntohs (address.sin_port));
    close (sock);

    char *argv [] = { ZJOB_BIN_DIR "/zjob", "--broker", endpoint, "--timeout", "300ms",
                      "get", "01JD6ZQ8XKTBV3M9W2N4", NULL };
    s_child_t *child = s_spawn (argv, NULL);
    s_child_finish (child, S_RUN_TIMEOUT_MS);
    cr_assert_eq (child->code, 5, "%s", child->err);
    cr_assert_lt (child->elapsed_ms, 3000);
    s_assert_contains (child->err, "no broker answered at ");
    s_assert_contains (child->err, endpoint);
    s_assert_contains (child->err, "within 300 ms; is zjobd running?");
    s_assert_contains (child->err, "ZJOB_BROKER");
    s_child_destroy (&child);
}


//  --------------------------------------------------------------------------
//  help and usage

Test (zjob_cli, help_and_usage)
{
    s_child_t *child = s_zjob ("help");
    cr_assert_eq (child->code, 0);
    const char *commands [] = {
        "submit", "get", "list", "delete", "start", "pause", "resume", "cancel", "status",
        "result", "wait", "watch", "cleanup", "stats", "workers"
    };
    for (size_t index = 0; index < sizeof commands / sizeof commands [0]; index++) {
        char entry [32];
        snprintf (entry, sizeof entry, "\n  %-9s ", commands [index]);
        s_assert_contains (child->out, entry);
    }
    s_assert_contains (child->out, "exit codes:");
    s_assert_contains (child->out, "  7    timed out");
    s_assert_contains (child->out, "ZJOB_BROKER");
    s_child_destroy (&child);

    child = s_zjob ("submit", "--help");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "usage: zjob submit WORKFLOW");
    s_assert_contains (child->out, "--batch FILE");
    s_child_destroy (&child);

    child = s_zjob ("help", "cancel");
    cr_assert_eq (child->code, 0);
    s_assert_contains (child->out, "usage: zjob cancel ID... | filter");
    s_assert_contains (child->out, "--dry-run");
    s_child_destroy (&child);

    child = s_zjob ("frobnicate");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "unknown command 'frobnicate'");
    s_child_destroy (&child);

    child = s_zjob ("get", "--colour");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "zjob get: unknown option '--colour'");
    s_child_destroy (&child);

    child = s_zjob ("wait");
    cr_assert_eq (child->code, 1);
    s_assert_contains (child->err, "which job? give its ID");
    s_child_destroy (&child);

    child = s_zjob ("wait", "01JD6ZQ8XKTBV3M9W2N4", "--timeout", "soon");
    cr_assert_eq (child->code, 2);
    s_assert_contains (child->err, "--timeout: 'soon' is not a duration");
    s_child_destroy (&child);
}
