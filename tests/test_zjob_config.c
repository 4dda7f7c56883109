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
