/*  =========================================================================
    test_zjob_cli_parse - the zjob CLI's parsers and formatters, called
    directly

    The values a user types (durations, times, counts, priorities, status
    lists, JSON arguments and --batch lines) and what the CLI prints for
    people (durations, relative and ISO times, watch's progress bar at
    several terminal widths), without a broker or a child process: the
    functions of client/cli/cli_args.h and cli_output.h.
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli_core.h"
#include "cli_args.h"
#include "cli_output.h"
#include "cli_commands.h"


//  --------------------------------------------------------------------------
//  Values

Test (zjob_cli_parse, durations)
{
    cr_assert_eq (zjob_cli_parse_duration ("30"), 30000);
    cr_assert_eq (zjob_cli_parse_duration ("1.5"), 1500);
    cr_assert_eq (zjob_cli_parse_duration ("0"), 0);
    cr_assert_eq (zjob_cli_parse_duration ("500ms"), 500);
    cr_assert_eq (zjob_cli_parse_duration ("30s"), 30000);
    cr_assert_eq (zjob_cli_parse_duration ("5m"), 300000);
    cr_assert_eq (zjob_cli_parse_duration ("2h"), 7200000);
    cr_assert_eq (zjob_cli_parse_duration ("7d"), 7 * 86400000LL);
    const char *bad [] = { "", "5x", "soon", "-1", "1.2.3", "m", "5 m", "1e3", NULL };
    for (int index = 0; bad [index]; index++)
        cr_assert_eq (zjob_cli_parse_duration (bad [index]), -1, "'%s'", bad [index]);
    cr_assert_eq (zjob_cli_parse_duration (NULL), -1);
}

Test (zjob_cli_parse, times)
{
    cr_assert_eq (zjob_cli_parse_time ("2024-05-01", 1), 1714521600000LL);
    cr_assert_eq (zjob_cli_parse_time ("2024-05-01T12:00", 1), 1714564800000LL);
    cr_assert_eq (zjob_cli_parse_time ("2024-05-01T12:00:00Z", 1), 1714564800000LL);
    cr_assert_eq (zjob_cli_parse_time ("2024-05-01T12:00:00.250Z", 1), 1714564800250LL);
    //  A duration is from now: forward for run_at, back for created-after
    int64_t now = zjob_clock_ms ();
    int64_t later = zjob_cli_parse_time ("5m", 1);
    cr_assert (later >= now + 300000 && later <= zjob_clock_ms () + 300000);
    int64_t earlier = zjob_cli_parse_time ("2h", -1);
    cr_assert (earlier <= zjob_clock_ms () - 7200000 && earlier >= now - 7200000);
    const char *bad [] = { "", "yesterday", "2024-13-01", "2024-05-01T12", "2024-05-01X",
                           "2024-05-01T12:00:00.Z", "5x", NULL };
    for (int index = 0; bad [index]; index++)
        cr_assert_eq (zjob_cli_parse_time (bad [index], 1), -1, "'%s'", bad [index]);
}

Test (zjob_cli_parse, counts_and_limits)
{
    cr_assert_eq (zjob_cli_parse_count ("0", 10), 0);
    cr_assert_eq (zjob_cli_parse_count ("10", 10), 10);
    cr_assert_eq (zjob_cli_parse_count ("11", 10), -1);
    cr_assert_eq (zjob_cli_parse_count ("10000", ZJOB_LIST_LIMIT_MAX), 10000);
    cr_assert_eq (zjob_cli_parse_count ("10001", ZJOB_LIST_LIMIT_MAX), -1);
    const char *bad [] = { "", "-1", "+1", " 1", "1 ", "1k", "0x10",
                           "99999999999999999999999", NULL };
    for (int index = 0; bad [index]; index++)
        cr_assert_eq (zjob_cli_parse_count (bad [index], INT32_MAX), -1, "'%s'", bad [index]);
}

Test (zjob_cli_parse, priorities)
{
    cr_assert_eq (zjob_cli_parse_priority ("low"), ZJOB_PRIORITY_LOW);
    cr_assert_eq (zjob_cli_parse_priority ("medium"), ZJOB_PRIORITY_MEDIUM);
    cr_assert_eq (zjob_cli_parse_priority ("high"), ZJOB_PRIORITY_HIGH);
    cr_assert_eq (zjob_cli_parse_priority ("critical"), ZJOB_PRIORITY_CRITICAL);
    cr_assert_eq (zjob_cli_parse_priority ("urgent"), -1);
    cr_assert_eq (zjob_cli_parse_priority (""), -1);
    cr_assert_eq (zjob_cli_parse_priority (NULL), -1);
}

Test (zjob_cli_parse, status_lists)
{
    char bad [64];
    cr_assert_eq (zjob_cli_parse_statuses ("queued", bad, sizeof bad), 1 << ZJOB_QUEUED);
    cr_assert_eq (zjob_cli_parse_statuses ("queued,running", bad, sizeof bad),
                  (1 << ZJOB_QUEUED) | (1 << ZJOB_RUNNING));
    cr_assert_eq (zjob_cli_parse_statuses ("queued,bogus,running", bad, sizeof bad), -1);
    cr_assert_str_eq (bad, "bogus");
    cr_assert_eq (zjob_cli_parse_statuses ("queued,", bad, sizeof bad), -1);
    cr_assert_str_eq (bad, "");
    cr_assert_eq (zjob_cli_parse_statuses ("", bad, sizeof bad), -1);
    cr_assert_eq (zjob_cli_parse_statuses ("scheduled", bad, sizeof bad), ZJOB_CLI_SCHEDULED);
    cr_assert_eq (zjob_cli_parse_statuses ("ready,scheduled", bad, sizeof bad),
                  ZJOB_CLI_READY | ZJOB_CLI_SCHEDULED);
    cr_assert_eq (zjob_cli_parse_statuses ("completed,failed,cancelled", NULL, 0),
                  (1 << ZJOB_COMPLETED) | (1 << ZJOB_FAILED) | (1 << ZJOB_CANCELLED));
}

Test (zjob_cli_parse, endpoints)
{
    char buf [ZJOB_CLI_ENDPOINT_MAX];
    cr_assert_eq (zjob_cli_endpoint_set (buf, "tcp://127.0.0.1:5570"), 0);
    cr_assert_str_eq (buf, "tcp://127.0.0.1:5570");
    cr_assert_eq (zjob_cli_endpoint_set (buf, "127.0.0.1:5570"), 0);
    cr_assert_str_eq (buf, "tcp://127.0.0.1:5570");
    cr_assert_eq (zjob_cli_endpoint_set (buf, "ipc:///tmp/zjob"), 0);
    cr_assert_str_eq (buf, "ipc:///tmp/zjob");
    cr_assert_eq (zjob_cli_endpoint_set (buf, ""), -1);
    char huge [ZJOB_CLI_ENDPOINT_MAX + 100];
    memset (huge, 'a', sizeof huge - 1);
    huge [sizeof huge - 1] = '\0';
    cr_assert_eq (zjob_cli_endpoint_set (buf, huge), -1);
    //  A list (brokers sharing a store): each item gets its transport;
    //  an empty one stays, for libzjob to refuse by name
    cr_assert_eq (zjob_cli_endpoint_set (buf, "127.0.0.1:5570,tcp://10.0.0.2:5570,b:1"), 0);
    cr_assert_str_eq (buf, "tcp://127.0.0.1:5570,tcp://10.0.0.2:5570,tcp://b:1");
    cr_assert_eq (zjob_cli_endpoint_set (buf, "a:1,,b:2"), 0);
    cr_assert_str_eq (buf, "tcp://a:1,,tcp://b:2");
}


//  --------------------------------------------------------------------------
//  JSON arguments and batches

//  A FILE over text (fmemopen)
static FILE *
s_file (const char *text)
{
    FILE *file = fmemopen ((void *) text, strlen (text), "r");
    cr_assert_not_null (file);
    return file;
}

Test (zjob_cli_parse, json_argument_inline_and_from_file)
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);
    uint8_t *data = NULL;
    size_t size = 0;
    cr_assert_eq (zjob_cli_json_arg (&cli, "inputs", "{\"steps\": 5}", &data, &size), 0);
    cr_assert_gt (size, 0);
    free (data);
    cr_assert_eq (zjob_cli_json_arg (&cli, "inputs", "{\"steps\": }", &data, &size),
                  ZJOB_EXIT_BAD_INPUT);
    cr_assert_eq (zjob_cli_json_arg (&cli, "inputs", "[1, 2]", &data, &size),
                  ZJOB_EXIT_BAD_INPUT);
    cr_assert_eq (zjob_cli_json_arg (&cli, "inputs", "@/nonexistent/job.json", &data, &size),
                  ZJOB_EXIT_BAD_INPUT);
    //  The example of the README
    data = NULL;
    cr_assert_eq (zjob_cli_json_arg (&cli, "inputs", "@" ZJOB_SOURCE_DIR "/examples/job.json",
                                     &data, &size),
                  0);
    cr_assert_not_null (data);
    free (data);
    zjob_cli_fini (&cli);
}

Test (zjob_cli_parse, slurp_refuses_more_than_its_limit)
{
    FILE *file = tmpfile ();
    cr_assert_not_null (file);
    char block [65536];
    memset (block, ' ', sizeof block);
    for (size_t written = 0; written <= ZJOB_CLI_TEXT_MAX; written += sizeof block)
        cr_assert_eq (fwrite (block, 1, sizeof block, file), sizeof block);
    rewind (file);
    errno = 0;
    cr_assert_null (zjob_cli_slurp (file));
    cr_assert_eq (errno, EFBIG);
    fclose (file);

    file = s_file ("{\"a\": 1}");
    char *text = zjob_cli_slurp (file);
    cr_assert_str_eq (text, "{\"a\": 1}");
    free (text);
    fclose (file);
}

Test (zjob_cli_parse, batch_lines_over_the_defaults)
{
    const char *tags [] = { "nightly" };
    zjob_cli_defaults_t defaults = {
        .workflow_id = "render", .priority = ZJOB_PRIORITY_MEDIUM, .user_id = "ana", .tags = tags, .tag_count = 1, .max_attempts = -1
    };
    FILE *file = s_file ("{\"inputs\": {\"steps\": 1}}\n"
                         "\n"
                         "{\"inputs\": {}, \"priority\": \"high\", \"tags\": [\"a\", \"b\"],"
                         " \"workflow_id\": \"other\", \"run_at\": \"2999-01-01\"}\n");
    size_t count = 0;
    zjob_error_t err;
    zjob_cli_line_t *lines = zjob_cli_batch_parse (file, "jobs.jsonl", &defaults, &count, &err);
    fclose (file);
    cr_assert_not_null (lines, "%s", err.text);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (lines [0].spec.workflow_id, "render");
    cr_assert_eq (lines [0].spec.priority, ZJOB_PRIORITY_MEDIUM);
    cr_assert_str_eq (lines [0].spec.user_id, "ana");
    cr_assert_eq (lines [0].spec.tag_count, 1);
    cr_assert_eq (lines [0].line, 1);
    cr_assert_str_eq (lines [1].spec.workflow_id, "other");
    cr_assert_eq (lines [1].spec.priority, ZJOB_PRIORITY_HIGH);
    cr_assert_eq (lines [1].spec.tag_count, 2);
    cr_assert_eq (lines [1].spec.run_at, zjob_cli_parse_time ("2999-01-01", 1));
    cr_assert_eq (lines [1].line, 3);
    zjob_cli_lines_free (lines, count);
}

//  submit's retry policy: its values, and the wire's 0 = none
Test (zjob_cli_parse, policy_values)
{
    cr_assert_eq (zjob_cli_parse_timeout ("0"), ZJOB_TIMEOUT_NONE);
    cr_assert_eq (zjob_cli_parse_timeout ("none"), ZJOB_TIMEOUT_NONE);
    cr_assert_eq (zjob_cli_parse_timeout ("30s"), 30000);
    cr_assert_eq (zjob_cli_parse_timeout ("1.5"), 1500);
    cr_assert_eq (zjob_cli_parse_timeout ("60d"), -1, "over 2^32 ms");
    cr_assert_eq (zjob_cli_parse_timeout ("soon"), -1);
    cr_assert_eq (zjob_cli_parse_timeout (""), -1);
    cr_assert_eq (zjob_cli_parse_timeout (NULL), -1);
    cr_assert_float_eq (zjob_cli_parse_factor ("2"), 2.0, 1e-9);
    cr_assert_float_eq (zjob_cli_parse_factor ("1.5"), 1.5, 1e-9);
    cr_assert_float_eq (zjob_cli_parse_factor ("100"), 100.0, 1e-9);
    cr_assert_lt (zjob_cli_parse_factor ("0.5"), 0);
    cr_assert_lt (zjob_cli_parse_factor ("101"), 0);
    cr_assert_lt (zjob_cli_parse_factor ("nan"), 0);
    cr_assert_lt (zjob_cli_parse_factor ("2x"), 0);
    size_t count;
    char **kinds = zjob_cli_parse_kinds ("bad_input,quota", &count);
    cr_assert_not_null (kinds);
    cr_assert_eq (count, 2);
    cr_assert_str_eq (kinds [0], "bad_input");
    cr_assert_str_eq (kinds [1], "quota");
    cr_assert_null (kinds [2]);
    free (kinds);
    cr_assert_null (zjob_cli_parse_kinds ("a,,b", &count));
    cr_assert_null (zjob_cli_parse_kinds ("a b", &count));
    cr_assert_null (zjob_cli_parse_kinds ("", &count));
    cr_assert_null (zjob_cli_parse_kinds ("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &count),
                    "17 kinds");
    kinds = zjob_cli_parse_kinds ("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &count);
    cr_assert_eq (count, ZJOB_NO_RETRY_MAX);
    free (kinds);

    //  max_attempts: not given is the default, 0 is no limit
    zjob_cli_defaults_t defaults = { .max_attempts = -1 };
    zjob_spec_t spec = { .workflow_id = "w" };
    zjob_cli_defaults_apply (&defaults, &spec);
    cr_assert_eq (spec.max_attempts, 0);
    defaults.max_attempts = 0;
    zjob_cli_defaults_apply (&defaults, &spec);
    cr_assert_eq (spec.max_attempts, ZJOB_ATTEMPTS_UNLIMITED);
    defaults.max_attempts = 5;
    defaults.policy.timeout_ms = ZJOB_TIMEOUT_NONE;
    defaults.policy.backoff = ZJOB_BACKOFF_FIXED;
    zjob_cli_defaults_apply (&defaults, &spec);
    cr_assert_eq (spec.max_attempts, 5);
    cr_assert_eq (spec.timeout_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_eq (spec.backoff, ZJOB_BACKOFF_FIXED);
}

Test (zjob_cli_parse, batch_lines_with_a_policy)
{
    const char *kinds [] = { "bad_input" };
    zjob_cli_defaults_t defaults = { .workflow_id = "render", .priority = -1, .max_attempts = 0 };
    defaults.policy.no_retry = kinds;
    defaults.policy.no_retry_count = 1;
    defaults.policy.timeout_ms = 60000;
    FILE *file = s_file ("{}\n"
                         "{\"max_attempts\": 4, \"backoff\": \"fixed\", \"backoff_base_ms\": 0,"
                         " \"backoff_factor\": 3, \"backoff_max_ms\": 9000, \"jitter\": \"none\","
                         " \"no_retry\": [\"quota\", \"auth\"], \"timeout_ms\": 0,"
                         " \"heartbeat_timeout_ms\": 5000}\n");
    size_t count = 0;
    zjob_error_t err;
    zjob_cli_line_t *lines = zjob_cli_batch_parse (file, "jobs.jsonl", &defaults, &count, &err);
    fclose (file);
    cr_assert_not_null (lines, "%s", err.text);
    //  The defaults: --max-attempts 0 is no limit
    cr_assert_eq (lines [0].spec.max_attempts, ZJOB_ATTEMPTS_UNLIMITED);
    cr_assert_eq (lines [0].spec.timeout_ms, 60000);
    cr_assert_eq (lines [0].spec.no_retry_count, 1);
    //  The wire's keys over them; its 0 is "none"
    const zjob_spec_t *spec = &lines [1].spec;
    cr_assert_eq (spec->max_attempts, 4);
    cr_assert_eq (spec->backoff, ZJOB_BACKOFF_FIXED);
    cr_assert_eq (spec->backoff_base_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_float_eq (spec->backoff_factor, 3.0, 1e-9);
    cr_assert_eq (spec->backoff_max_ms, 9000);
    cr_assert_eq (spec->jitter, ZJOB_JITTER_NONE);
    cr_assert_eq (spec->no_retry_count, 2);
    cr_assert_str_eq (spec->no_retry [1], "auth");
    cr_assert_eq (spec->timeout_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_eq (spec->heartbeat_timeout_ms, 5000);
    zjob_cli_lines_free (lines, count);

    const char *bad [] = {
        "{\"backoff\": \"linear\"}",
        "backoff: expected fixed or exponential",
        "{\"jitter\": 1}",
        "jitter: expected full or none",
        "{\"backoff_factor\": 0.5}",
        "backoff_factor: expected a number from 1 to 100",
        "{\"backoff_max_ms\": 0}",
        "backoff_max_ms: expected msecs, 1 or more",
        "{\"timeout_ms\": -1}",
        "timeout_ms: expected msecs (0 = none)",
        "{\"max_attempts\": \"3\"}",
        "max_attempts: expected a count (0 = no limit)",
        "{\"no_retry\": \"quota\"}",
        "no_retry: expected an array",
        "{\"no_retry\": [\"a b\"]}",
        "no_retry[0]: not an error kind",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index += 2) {
        file = s_file (bad [index]);
        lines = zjob_cli_batch_parse (file, "jobs.jsonl", &defaults, &count, &err);
        fclose (file);
        cr_assert_null (lines, "%s passed", bad [index]);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        cr_assert (strstr (err.text, bad [index + 1]), "%s: %s", bad [index], err.text);
    }
}

//  What zjob_cli_print_job prints for job
static void
s_job_text (const zjob_job_t *job, char *out, size_t size)
{
    char path [] = "/tmp/test_zjob_cli_parse.XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    fflush (stdout);
    int saved = dup (STDOUT_FILENO);
    cr_assert_geq (dup2 (fd, STDOUT_FILENO), 0);
    zjob_cli_print_job (job);
    fflush (stdout);
    dup2 (saved, STDOUT_FILENO);
    close (saved);
    ssize_t got = pread (fd, out, size - 1, 0);
    out [got > 0 ? got : 0] = '\0';
    close (fd);
    unlink (path);
}

Test (zjob_cli_parse, get_shows_the_policy_the_errors_and_the_winner)
{
    zjob_spec_t spec = { .workflow_id = "resize", .priority = ZJOB_PRIORITY_UNSET };
    zjob_error_t err;
    zjob_job_t *job = zjob_job_new (&spec, &err);
    cr_assert_not_null (job);
    char out [4096];
    s_job_text (job, out, sizeof out);
    cr_assert_null (strstr (out, "backoff"), "%s", out);
    cr_assert_null (strstr (out, "errors"), "%s", out);

    zjob_policy_t *policy = (zjob_policy_t *) calloc (1, sizeof (zjob_policy_t));
    policy->refs = 1;
    policy->backoff = ZJOB_BACKOFF_EXPONENTIAL;
    policy->jitter = ZJOB_JITTER_FULL;
    policy->backoff_base_ms = 1000;
    policy->backoff_max_ms = 300000;
    policy->backoff_factor = 2.0f;
    policy->timeout_ms = 30000;
    policy->no_retry = (char **) calloc (1, sizeof (char *));
    policy->no_retry [0] = strdup ("bad_input");
    policy->no_retry_count = 1;
    job->policy = policy;
    zjob_history_t *history = (zjob_history_t *) calloc (
        1, sizeof (zjob_history_t) + 2 * sizeof (zjob_error_entry_t));
    history->count = 2;
    history->entries [0] = (zjob_error_entry_t){ 1, strdup ("timeout"), strdup ("ran longer than 30s"),
                                                 strdup ("gpu-1"), 1706704496789LL };
    history->entries [1] = (zjob_error_entry_t){ 2, strdup ("worker_lost"), NULL, NULL, 1706704500000LL };
    job->history = history;
    job->attempts = 3;
    job->max_attempts = 5;
    job->result_attempt = 3;
    job->status = ZJOB_COMPLETED;
    s_job_text (job, out, sizeof out);
    cr_assert_not_null (strstr (out, "attempts      3 of 5\n"), "%s", out);
    cr_assert_not_null (strstr (out, "result of     attempt 3\n"), "%s", out);
    cr_assert_not_null (strstr (out, "backoff       exponential from 1.0s, x2, at most 5m 0s, "
                                     "full jitter\n"),
                        "%s", out);
    cr_assert_not_null (strstr (out, "not retried   bad_input\n"), "%s", out);
    cr_assert_not_null (strstr (out, "timeouts      30.0s an attempt\n"), "%s", out);
    cr_assert_not_null (strstr (out, "errors        2 failed attempts, oldest first\n"), "%s",
                        out);
    cr_assert_not_null (strstr (out, "  #1   2024-01-31T12:34:56.789Z  gpu-1  timeout: ran longer "
                                     "than 30s\n"),
                        "%s", out);
    cr_assert_not_null (strstr (out, "  #2   2024-01-31T12:35:00.000Z  -  worker_lost\n"), "%s",
                        out);
    zjob_job_destroy (&job);
}

Test (zjob_cli_parse, a_bad_batch_line_is_named_and_nothing_is_returned)
{
    zjob_cli_defaults_t defaults = { .workflow_id = "render", .priority = -1, .max_attempts = -1 };
    struct {
        const char *text;
        const char *says;
    } cases [] = {
        { "{}\n{\"priority\": \"urgent\"}\n", "jobs.jsonl line 2: priority" },
        { "{}\nnot json\n", "jobs.jsonl line 2:" },
        { "{\"colour\": 1}\n", "line 1: unknown key \"colour\"" },
        { "{\"inputs\": [1]}\n", "line 1: inputs: expected a JSON object" },
        { "{\"tags\": [1]}\n", "line 1: tags[0]: not a string" },
        { "{\"max_attempts\": -1}\n", "line 1: max_attempts" },
        { "{\"run_at\": \"soon\"}\n", "line 1: run_at" },
        { "\n\n", "has no jobs" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases [0]; index++) {
        FILE *file = s_file (cases [index].text);
        size_t count = 0;
        zjob_error_t err;
        cr_assert_null (zjob_cli_batch_parse (file, "jobs.jsonl", &defaults, &count, &err));
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST, "%s", err.text);
        cr_assert_eq (zjob_cli_exit_code (err.code), ZJOB_EXIT_BAD_INPUT);
        cr_assert_not_null (strstr (err.text, cases [index].says), "'%s' not in '%s'",
                            cases [index].says, err.text);
        fclose (file);
    }
    //  Without a workflow on the command line, each line needs its own
    defaults.workflow_id = NULL;
    FILE *file = s_file ("{\"inputs\": {}}\n");
    size_t count;
    zjob_error_t err;
    cr_assert_null (zjob_cli_batch_parse (file, "stdin", &defaults, &count, &err));
    cr_assert_not_null (strstr (err.text, "workflow_id: required"), "%s", err.text);
    fclose (file);
}

Test (zjob_cli_parse, the_tour_batch_example_parses)
{
    FILE *file = fopen (ZJOB_SOURCE_DIR "/examples/jobs.jsonl", "r");
    cr_assert_not_null (file, "examples/jobs.jsonl is missing");
    zjob_cli_defaults_t defaults = { .workflow_id = "render", .priority = -1, .max_attempts = -1 };
    size_t count = 0;
    zjob_error_t err;
    zjob_cli_line_t *lines = zjob_cli_batch_parse (file, "jobs.jsonl", &defaults, &count, &err);
    fclose (file);
    cr_assert_not_null (lines, "%s", err.text);
    cr_assert_geq (count, 2);
    zjob_cli_lines_free (lines, count);
}


//  --------------------------------------------------------------------------
//  Formatting

Test (zjob_cli_parse, durations_for_people)
{
    char buf [32];
    cr_assert_str_eq (zjob_cli_format_duration (0, buf, sizeof buf), "0ms");
    cr_assert_str_eq (zjob_cli_format_duration (-5, buf, sizeof buf), "0ms");
    cr_assert_str_eq (zjob_cli_format_duration (850, buf, sizeof buf), "850ms");
    cr_assert_str_eq (zjob_cli_format_duration (1200, buf, sizeof buf), "1.2s");
    cr_assert_str_eq (zjob_cli_format_duration (10000, buf, sizeof buf), "10.0s");
    cr_assert_str_eq (zjob_cli_format_duration (192000, buf, sizeof buf), "3m 12s");
    cr_assert_str_eq (zjob_cli_format_duration (7500000, buf, sizeof buf), "2h 5m");
    cr_assert_str_eq (zjob_cli_format_duration (273600000, buf, sizeof buf), "3d 4h");
}

Test (zjob_cli_parse, relative_and_iso_times)
{
    char buf [64];
    int64_t now = 1714564800000LL;
    cr_assert_str_eq (zjob_cli_format_ago (0, now, buf, sizeof buf), "-");
    cr_assert_str_eq (zjob_cli_format_ago (now - 3000, now, buf, sizeof buf), "3s ago");
    cr_assert_str_eq (zjob_cli_format_ago (now - 7200000, now, buf, sizeof buf), "2h ago");
    cr_assert_str_eq (zjob_cli_format_ago (now + 240000, now, buf, sizeof buf), "in 4m");
    cr_assert_str_eq (zjob_cli_format_ago (now - 3 * 86400000LL, now, buf, sizeof buf),
                      "3d ago");
    cr_assert_str_eq (zjob_cli_format_when (0, buf, sizeof buf), "-");
    zjob_cli_format_when (1714564800250LL, buf, sizeof buf);
    cr_assert_eq (strncmp (buf, "2024-05-01T12:00:00.250Z (", 26), 0, "%s", buf);
    cr_assert_not_null (strstr (buf, " ago)"), "%s", buf);
}

//  The bar's line at width: never wider than width - 1
static char *
s_bar (int width, const char *message, int percent)
{
    static char line [1024];
    size_t length = zjob_cli_progress_line (line, sizeof line, width, "06H4E7SSQSJTFJPBCT4R",
                                            "running", percent, message);
    cr_assert_eq (length, strlen (line));
    cr_assert_leq ((int) length, width - 1, "%d columns: '%s' (%zu)", width, line, length);
    return line;
}

Test (zjob_cli_parse, progress_bar_fits_80_columns)
{
    const char *long_message = "downloading part 17 of 64 from the mirror at "
                               "example.org, then checking it";
    char *line = s_bar (80, long_message, 50);
    cr_assert_eq (strncmp (line, "06H4E7SSQSJTFJPBCT4R  running   [###############"
                                 "...............]  50%  downloading",
                           82 - 6),
                  0, "'%s'", line);
    cr_assert_eq (strlen (line), 79);
    //  A short message is shown whole, and nothing is padded
    line = s_bar (80, "half way", 50);
    cr_assert_str_eq (line, "06H4E7SSQSJTFJPBCT4R  running   [###############"
                            "...............]  50%  half way");
}

Test (zjob_cli_parse, progress_bar_at_40_columns_drops_the_id)
{
    char *line = s_bar (40, "half way", 50);
    cr_assert_null (strstr (line, "06H4E7SS"), "'%s'", line);
    cr_assert_eq (strncmp (line, "running   [", 11), 0, "'%s'", line);
    cr_assert_not_null (strstr (line, "]  50%"), "'%s'", line);
    line = s_bar (40, NULL, 100);
    cr_assert_not_null (strstr (line, "#] 100%"), "'%s'", line);
}

Test (zjob_cli_parse, progress_bar_at_200_columns_shows_the_whole_message)
{
    const char *message = "downloading part 17 of 64 from the mirror at example.org, "
                          "then checking it against its checksum";
    char *line = s_bar (200, message, 25);
    cr_assert_not_null (strstr (line, message), "'%s'", line);
    cr_assert_not_null (strstr (line, "[#######.......................]  25%"), "'%s'", line);
}

Test (zjob_cli_parse, progress_bar_keeps_messages_on_one_line)
{
    //  Control characters would break the redraw; a cut never splits UTF-8
    char *line = s_bar (200, "one\ntwo\rthree", 10);
    cr_assert_not_null (strstr (line, "one two three"), "'%s'", line);
    line = s_bar (80, "ééééééééééééééééééééééééééééééééééééééééé", 10);
    size_t length = strlen (line);
    cr_assert_neq ((unsigned char) line [length - 1], 0xC3, "half a character: '%s'", line);
    //  Narrower than anything useful: still never wider
    for (int width = 1; width < 40; width++)
        s_bar (width, "message", 50);
}

Test (zjob_cli_parse, terminal_width_from_columns)
{
    //  stdout of a Criterion test is not a terminal: $COLUMNS, else 80
    setenv ("COLUMNS", "132", 1);
    cr_assert_eq (zjob_cli_terminal_width (STDOUT_FILENO), 132);
    setenv ("COLUMNS", "wide", 1);
    cr_assert_eq (zjob_cli_terminal_width (STDOUT_FILENO), 80);
    unsetenv ("COLUMNS");
    cr_assert_eq (zjob_cli_terminal_width (STDOUT_FILENO), 80);
}

Test (zjob_cli_parse, sorted_json)
{
    json_t *value = json_pack ("{s:i, s:{s:i, s:i}, s:[{s:i, s:i}]}", "b", 1, "a", "z", 1,
                               "y", 2, "c", "q", 1, "p", 2);
    json_t *sorted = zjob_cli_json_sorted (value);
    char *text = json_dumps (sorted, JSON_COMPACT);
    cr_assert_str_eq (text, "{\"a\":{\"y\":2,\"z\":1},\"b\":1,\"c\":[{\"p\":2,\"q\":1}]}");
    free (text);
    json_decref (sorted);
    json_decref (value);
}

Test (zjob_cli_parse, exit_codes_of_status_codes)
{
    cr_assert_eq (zjob_cli_exit_code (ZJOB_OK), 0);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_BAD_REQUEST), 2);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_TOO_LARGE), 2);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_NOT_FOUND), 3);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_CONFLICT), 4);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_UNAVAILABLE), 5);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_TOO_MANY), 9);
    cr_assert_eq (zjob_cli_exit_code (ZJOB_INTERNAL), 8);
    //  No answer and a refusal are both 503, but only one is "no answer"
    zjob_error_t err;
    zjob_error_set (&err, ZJOB_UNAVAILABLE, "broker at tcp://127.0.0.1:1 did not answer "
                                            "GET within 3000 ms");
    cr_assert (zjob_cli_no_answer (&err));
    zjob_error_set (&err, ZJOB_UNAVAILABLE, "no reply from tcp://127.0.0.1:1 within 5 ms");
    cr_assert (zjob_cli_no_answer (&err));
    zjob_error_set (&err, ZJOB_UNAVAILABLE, "not committed: journal write: No space left");
    cr_assert_not (zjob_cli_no_answer (&err));
}

Test (zjob_cli_parse, every_command_has_help)
{
    size_t count;
    const zjob_cli_command_t *commands = zjob_cli_commands (&count);
    cr_assert_geq (count, 16);
    for (size_t index = 0; index < count; index++) {
        cr_assert_eq (zjob_cli_command_find (commands [index].name), &commands [index]);
        cr_assert_gt (strlen (commands [index].help), 20);
    }
    cr_assert_null (zjob_cli_command_find ("frobnicate"));
}

//  A STATS reply as today's broker sends it, with the fields of newer
//  brokers when extra is given
static json_t *
s_stats (const char *extra)
{
    char text [1024];
    snprintf (text, sizeof text,
              "{\"jobs\": 14, \"by_status\": {\"created\": 0, \"queued\": 12, \"running\": 2,"
              " \"paused\": 0, \"completed\": 0, \"failed\": 0, \"cancelled\": 0},"
              " \"by_workflow\": {\"render\": {\"queued\": 12, \"running\": 2}},"
              " \"queued\": 2, \"active\": 2, \"workers\": 1, \"slots\": 4, \"busy\": 2,"
              " \"rates\": {\"submitted\": 1.5, \"completed\": 0, \"failed\": 0},"
              " \"rate_window_ms\": 10000, \"uptime_ms\": 61000%s}",
              extra ? extra : "");
    json_t *stats = json_loads (text, 0, NULL);
    cr_assert_not_null (stats);
    return stats;
}

//  What zjob_cli_print_stats prints for stats, into out (stdout goes to a
//  file meanwhile: each Criterion test is a process of its own)
static void
s_stats_text (json_t *stats, char *out, size_t size)
{
    char path [] = "/tmp/test_zjob_cli_parse.XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    fflush (stdout);
    int saved = dup (STDOUT_FILENO);
    cr_assert_geq (dup2 (fd, STDOUT_FILENO), 0);
    zjob_cli_print_stats (stats);
    fflush (stdout);
    dup2 (saved, STDOUT_FILENO);
    close (saved);
    ssize_t got = pread (fd, out, size - 1, 0);
    out [got > 0 ? got : 0] = '\0';
    close (fd);
    unlink (path);
    json_decref (stats);
}

Test (zjob_cli_parse, stats_of_an_older_broker)
{
    char out [4096];
    s_stats_text (s_stats (NULL), out, sizeof out);
    cr_assert_not_null (strstr (out, "queue      12 queued: 2 ready, 10 scheduled; 2 held by "
                                     "workers\n"),
                        "%s", out);
    cr_assert_null (strstr (out, "limit"), "%s", out);
    cr_assert_not_null (strstr (out, "(over the last 10.0s)"), "%s", out);
}

Test (zjob_cli_parse, stats_with_the_limit_fields)
{
    char out [4096];
    s_stats_text (s_stats (", \"scheduled\": 9, \"max_concurrent\": 2, "
                           "\"held_by_limit\": true"),
                  out, sizeof out);
    cr_assert_not_null (strstr (out, "12 queued: 2 ready, 9 scheduled"), "%s", out);
    cr_assert_not_null (strstr (out, "limit      2 of 2 held at once; ready jobs held back by "
                                     "--max-concurrent 2\n"),
                        "%s", out);
}

Test (zjob_cli_parse, stats_with_retrying_and_dead)
{
    char out [4096];
    s_stats_text (s_stats (", \"retrying\": 4, \"dead\": 7"), out, sizeof out);
    cr_assert_not_null (strstr (out, "failures   4 retrying (queued for a later attempt), 7 dead "
                                     "(failed for good: zjob list --dead)\n"),
                        "%s", out);
    //  A broker without the figures: no line
    s_stats_text (s_stats (NULL), out, sizeof out);
    cr_assert_null (strstr (out, "failures"), "%s", out);
}

Test (zjob_cli_parse, request_time_within_the_command_time)
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);
    //  No --timeout: each request gets the request timeout
    cr_assert_eq (zjob_cli_time_left (&cli), -1);
    cr_assert_eq (zjob_cli_request_ms (&cli), ZJOB_CLI_REQUEST_TIMEOUT);
    //  --timeout 2s: what is left of it, when that is shorter
    cli.timeout_ms = 2000;
    cli.started = zjob_mono_ms ();
    int request = zjob_cli_request_ms (&cli);
    cr_assert (request > 1900 && request <= 2000, "%d", request);
    cli.timeout_ms = 60000;
    cr_assert_eq (zjob_cli_request_ms (&cli), ZJOB_CLI_REQUEST_TIMEOUT);
    //  Spent: no time left, but a request can still be made
    cli.timeout_ms = 0;
    cr_assert_eq (zjob_cli_time_left (&cli), 0);
    cr_assert_eq (zjob_cli_request_ms (&cli), ZJOB_CLI_REQUEST_MIN);
    cli.request_timeout_ms = 20;
    cr_assert_eq (zjob_cli_request_ms (&cli), 20);
    zjob_cli_fini (&cli);
}
