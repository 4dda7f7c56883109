/*  =========================================================================
    fuzz_config - libFuzzer harness: a broker config file (ZPL)

    The bytes are written to a file in a temporary directory (one file,
    rewritten for each input) and loaded as zjobd --config loads it:
    zconfig parses the ZPL, zjob_broker_config_load applies each option.
    A config that loads is then turned into what the manager takes (the
    retry defaults, the queue limits).
    ========================================================================= */

#include "zjob_config.h"
#include "fuzz_common.h"

static char s_path [256];  //  The one config file the inputs are written to

//  Make the temporary directory once; it is removed at exit
static void
s_cleanup (void)
{
    unlink (s_path);
    char *slash = strrchr (s_path, '/');
    if (slash) {
        *slash = 0;
        rmdir (s_path);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    fuzz_quiet ();
    if (!*s_path) {
        char dir [200];
        fuzz_tmpdir (dir, sizeof (dir), "zjob-fuzz-config-XXXXXX");
        snprintf (s_path, sizeof (s_path), "%s/zjobd.cfg", dir);
        atexit (s_cleanup);
        //  zconfig reports a syntax error with zclock_log, on stdout,
        //  whatever CZMQ's log settings: the harness's stdout is dropped
        if (!freopen ("/dev/null", "w", stdout))
            abort ();
    }
    FILE *file = fopen (s_path, "wb");
    if (!file)
        abort ();
    if (size && fwrite (data, 1, size, file) != size)
        abort ();
    fclose (file);
    zjob_broker_config_t *config = (zjob_broker_config_t *) malloc (sizeof (*config));
    if (!config)
        abort ();
    zjob_broker_config_init (config);
    zjob_error_t err;
    if (zjob_broker_config_load (config, s_path, &err) == 0) {
        static zjob_retry_defaults_t defaults;
        static zjob_workflow_defaults_t workflows [ZJOB_CONFIG_WORKFLOWS_MAX];
        static zjob_queue_defaults_t queues [ZJOB_CONFIG_WORKFLOWS_MAX];
        (void) zjob_broker_config_retry (config, &defaults, workflows);
        (void) zjob_broker_config_queues (config, queues);
    }
    free (config);
    return 0;
}
