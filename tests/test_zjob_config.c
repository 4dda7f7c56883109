/*  =========================================================================
    test_zjob_config - the broker's options: defaults, setter, ZPL files
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "zjob_config.h"
#include "zjob_manager.h"
#include "helper_zjob_test.h"

Test (config, options_and_files)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    cr_assert_str_eq (config.clients, ZJOB_BROKER_CLIENTS_DEFAULT);
    cr_assert_str_eq (config.workers, "tcp://127.0.0.1:5571");
    cr_assert_str_eq (config.events, "tcp://127.0.0.1:5572");
    cr_assert_eq (config.heartbeat_ms, 1000);
    cr_assert_eq (config.liveness, 3);
    cr_assert_eq (config.max_concurrent, ZJOB_MAX_CONCURRENT_DEFAULT);

    zjob_error_t err;
    cr_assert_eq (zjob_broker_config_set (&config, "heartbeat", "250ms", &err), 0);
    cr_assert_eq (config.heartbeat_ms, 250);
    cr_assert_eq (zjob_broker_config_set (&config, "log-level", "debug", &err), 0);
    cr_assert_eq (config.log_level, ZJOB_LOG_DEBUG);
    cr_assert_eq (zjob_broker_config_set (&config, "heartbeat", "soon", &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_broker_config_set (&config, "liveness", "0", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "max-concurrent", "-1", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "max-message", "999999999999", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "log-level", "loud", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "colour", "blue", &err), -1);
    cr_assert (strstr (err.text, "colour"));

    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char path [512];
    snprintf (path, sizeof (path), "%s/zjobd.cfg", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "#   zjobd options\nbroker\n    clients = \"tcp://127.0.0.1:6000\"\n"
                   "    max-concurrent = 32\n    store = \"memory:\"\n    heartbeat = 2s\n");
    fclose (file);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), 0, "%s", err.text);
    cr_assert_str_eq (config.clients, "tcp://127.0.0.1:6000");
    cr_assert_eq (config.max_concurrent, 32);
    cr_assert_str_eq (config.store, "memory:");
    cr_assert_eq (config.heartbeat_ms, 2000);

    file = fopen (path, "w");
    fprintf (file, "broker\n    heartbeats = 2s\n");
    fclose (file);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), -1);
    cr_assert (strstr (err.text, "heartbeats"), "%s", err.text);
    snprintf (path, sizeof (path), "%s/missing.cfg", dir);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), -1);
    zjob_test_rmtree (dir);
    free (dir);
}

//  A file zconfig cannot parse is refused, and leaves nothing allocated:
//  zconfig_load (CZMQ 4.2) leaks its zfile_t when the parse fails, which
//  the fuzzer found (tests/fuzz/corpus/config/leak-invalid-zpl); the
//  sanitizer build (make test-asan) fails on such a leak
Test (config, invalid_zpl_is_refused_without_a_leak)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char path [512];
    snprintf (path, sizeof (path), "%s/bad.cfg", dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "lroker\n\xe0\xdf\xdf\xd7liveness = many\n");
    fclose (file);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "not valid ZPL"), "%s", err.text);
    zjob_test_rmtree (dir);
    free (dir);
}

Test (config, log_levels)
{
    for (int level = ZJOB_LOG_ERROR; level <= ZJOB_LOG_DEBUG; level++)
        cr_assert_eq (zjob_log_level_parse (zjob_log_level_name (level)), level);
    cr_assert_eq (zjob_log_level_parse ("loud"), -1);
    cr_assert_eq (zjob_log_level_parse (NULL), -1);
    cr_assert_str_eq (zjob_log_level_name (42), "unknown");
}

Test (config, load_sections_and_values)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char path [512];
    snprintf (path, sizeof (path), "%s/top.cfg", dir);
    //  Keys at the top level count as well as under "broker"
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "batch = 64\nretention = 1h\nmax-message = 8192\n");
    fclose (file);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), 0, "%s", err.text);
    cr_assert_eq (config.batch, 64);
    cr_assert_eq (config.retention_ms, 3600 * 1000);
    cr_assert_eq (config.max_message, 8192);
    //  A section that is not "broker" is an error, not ignored
    file = fopen (path, "w");
    fprintf (file, "worker\n    slots = 4\n");
    fclose (file);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert (strstr (err.text, "section"), "%s", err.text);
    //  Values that do not fit their field
    char long_value [ZJOB_BROKER_ENDPOINT_MAX + 10];
    memset (long_value, 'x', sizeof (long_value) - 1);
    long_value [sizeof (long_value) - 1] = 0;
    cr_assert_eq (zjob_broker_config_set (&config, "clients", long_value, &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "clients", "", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "batch", "10x", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, NULL, "1", &err), -1);
    zjob_test_rmtree (dir);
    free (dir);
}

Test (config, retry_defaults)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    cr_assert_eq (config.retry.max_attempts, 0, "unset: the built-in default");
    cr_assert_eq (config.workflow_count, 0);
    zjob_error_t err;
    cr_assert_eq (zjob_broker_config_set (&config, "max-attempts", "5", &err), 0, "%s", err.text);
    cr_assert_eq (config.retry.max_attempts, 5);
    cr_assert_eq (zjob_broker_config_set (&config, "max-attempts", "0", &err), 0);
    cr_assert_eq (config.retry.max_attempts, ZJOB_ATTEMPTS_UNLIMITED, "0: no limit");
    cr_assert_eq (zjob_broker_config_set (&config, "backoff", "fixed", &err), 0);
    cr_assert_eq (config.retry.backoff, ZJOB_BACKOFF_FIXED);
    cr_assert_eq (zjob_broker_config_set (&config, "backoff-jitter", "none", &err), 0);
    cr_assert_eq (config.retry.jitter, ZJOB_JITTER_NONE);
    cr_assert_eq (zjob_broker_config_set (&config, "backoff-base", "250ms", &err), 0);
    cr_assert_eq (config.retry.backoff_base_ms, 250);
    cr_assert_eq (zjob_broker_config_set (&config, "backoff-base", "0", &err), 0);
    cr_assert_eq (config.retry.backoff_base_ms, ZJOB_TIMEOUT_NONE, "0: no delay");
    cr_assert_eq (zjob_broker_config_set (&config, "backoff-factor", "1.5", &err), 0);
    cr_assert_eq (config.retry.backoff_factor, 1.5);
    cr_assert_eq (zjob_broker_config_set (&config, "backoff-max", "10m", &err), 0);
    cr_assert_eq (config.retry.backoff_max_ms, 600000);
    cr_assert_eq (zjob_broker_config_set (&config, "job-timeout", "30s", &err), 0);
    cr_assert_eq (config.retry.timeout_ms, 30000);
    cr_assert_eq (zjob_broker_config_set (&config, "heartbeat-timeout", "0", &err), 0);
    cr_assert_eq (config.retry.heartbeat_timeout_ms, ZJOB_TIMEOUT_NONE);
    cr_assert_eq (zjob_broker_config_set (&config, "no-retry", "bad_input,quota", &err), 0);
    cr_assert_str_eq (config.retry.no_retry, "bad_input,quota");
    cr_assert (config.retry.no_retry_set);
    cr_assert_eq (zjob_broker_config_set (&config, "no-retry", "", &err), 0, "none at all");
    cr_assert (config.retry.no_retry_set);

    //  Bad values name the option
    const char *bad [][2] = { { "max-attempts", "-1" }, { "backoff", "linear" }, { "backoff-factor", "0.5" }, { "backoff-factor", "x" }, { "backoff-max", "0" }, { "backoff-jitter", "half" }, { "job-timeout", "soon" }, { "no-retry", "a b" }, { "backoff-base", "60d" } };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        cr_assert_eq (zjob_broker_config_set (&config, bad [i][0], bad [i][1], &err), -1,
                      "%s = %s accepted", bad [i][0], bad [i][1]);
        cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
        cr_assert (strstr (err.text, bad [i][0]), "%s", err.text);
    }
    cr_assert_str_eq (config.retry.no_retry, "", "a refused value changes nothing");

    //  Per workflow, by name; the manager's view of both levels
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/resize/max-attempts", "9", &err), 0,
                  "%s", err.text);
    cr_assert_eq (zjob_broker_config_set_workflow (&config, "resize", "job-timeout", "5s", &err),
                  0);
    cr_assert_eq (config.workflow_count, 1);
    cr_assert_eq (zjob_broker_config_set_workflow (&config, "resize", "heartbeat", "1s", &err),
                  -1, "not a per-workflow option");
    cr_assert_eq (zjob_broker_config_set_workflow (&config, "bad name", "max-attempts", "1",
                                                   &err),
                  -1);
    zjob_retry_defaults_t defaults;
    zjob_workflow_defaults_t workflows [ZJOB_CONFIG_WORKFLOWS_MAX];
    cr_assert_eq (zjob_broker_config_retry (&config, &defaults, workflows), 1);
    cr_assert_str_eq (workflows [0].workflow_id, "resize");
    cr_assert_eq (workflows [0].defaults.max_attempts, 9);
    cr_assert_eq (workflows [0].defaults.timeout_ms, 5000);
    cr_assert_null (workflows [0].defaults.no_retry, "unset: the broker's");
    cr_assert_eq (defaults.max_attempts, ZJOB_ATTEMPTS_UNLIMITED);
    cr_assert_str_eq (defaults.no_retry, "");
    //  A copy by assignment is complete
    zjob_broker_config_t copy = config;
    cr_assert_str_eq (copy.workflows [0].workflow_id, "resize");

    //  At most ZJOB_CONFIG_WORKFLOWS_MAX workflows
    for (int i = 1; i < ZJOB_CONFIG_WORKFLOWS_MAX; i++) {
        char name [32];
        snprintf (name, sizeof (name), "wf%d", i);
        cr_assert_eq (zjob_broker_config_set_workflow (&config, name, "max-attempts", "1", &err),
                      0);
    }
    cr_assert_eq (zjob_broker_config_set_workflow (&config, "one-more", "max-attempts", "1",
                                                   &err),
                  -1);
}

Test (config, a_workflow_section_in_a_file)
{
    char *dir = zjob_test_tmpdir ();
    cr_assert_not_null (dir);
    char path [512];
    snprintf (path, sizeof (path), "%s/zjobd.cfg", dir);
    FILE *file = fopen (path, "w");
    fprintf (file, "broker\n    max-attempts = 4\n    no-retry = \"bad_input,quota\"\n"
                   "workflow\n    resize\n        max-attempts = 5\n        job-timeout = 30s\n"
                   "    thumbs\n        backoff = fixed\n");
    fclose (file);
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), 0, "%s", err.text);
    cr_assert_eq (config.retry.max_attempts, 4);
    cr_assert_str_eq (config.retry.no_retry, "bad_input,quota");
    cr_assert_eq (config.workflow_count, 2);
    cr_assert_str_eq (config.workflows [0].workflow_id, "resize");
    cr_assert_eq (config.workflows [0].retry.max_attempts, 5);
    cr_assert_eq (config.workflows [0].retry.timeout_ms, 30000);
    cr_assert_str_eq (config.workflows [1].workflow_id, "thumbs");
    cr_assert_eq (config.workflows [1].retry.backoff, ZJOB_BACKOFF_FIXED);

    file = fopen (path, "w");
    fprintf (file, "workflow\n    resize\n        retention = 1d\n");
    fclose (file);
    zjob_broker_config_init (&config);
    cr_assert_eq (zjob_broker_config_load (&config, path, &err), -1);
    cr_assert (strstr (err.text, "retention"), "%s", err.text);
    zjob_test_rmtree (dir);
    free (dir);
}

Test (config, workflow_queue_limits)
{
    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/video/concurrency", "2", &err), 0,
                  "%s", err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/mail/rate", "0.5", &err), 0, "%s",
                  err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/mail/burst", "10", &err), 0, "%s",
                  err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/mail/max-attempts", "4", &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/mail/rate", "-1", &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/mail/burst", "0.5", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "workflow/mail/concurrency", "x", &err), -1);
    zjob_queue_defaults_t queues [ZJOB_CONFIG_WORKFLOWS_MAX];
    cr_assert_eq (zjob_broker_config_queues (&config, queues), 2);
    cr_assert_str_eq (queues [0].workflow_id, "video");
    cr_assert_eq (queues [0].concurrency, 2);
    cr_assert_str_eq (queues [1].workflow_id, "mail");
    cr_assert_float_eq (queues [1].rate, 0.5, 1e-9);
    cr_assert_float_eq (queues [1].burst, 10, 1e-9);
    //  Only mail has a retry default of its own: video keeps the broker's
    zjob_retry_defaults_t defaults;
    zjob_workflow_defaults_t workflows [ZJOB_CONFIG_WORKFLOWS_MAX];
    cr_assert_eq (zjob_broker_config_retry (&config, &defaults, workflows), 1);
    cr_assert_str_eq (workflows [0].workflow_id, "mail");
    cr_assert_eq (workflows [0].defaults.max_attempts, 4);
}
