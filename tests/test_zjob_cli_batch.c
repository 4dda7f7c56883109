/*  =========================================================================
    test_zjob_cli_batch - submit's batch options, parsed without a broker:
    --batch-id, --batch-open, --callback and --callback-input (K=V with V
    as JSON or a string, or a JSON object), and what they refuse
    ========================================================================= */

#include <criterion/criterion.h>
#include <string.h>
#include "cli_core.h"
#include "cli_commands.h"

static int
s_option (zjob_cli_t *cli, zjob_cli_batch_t *batch, int opt, const char *arg)
{
    int rc = 0;
    int taken = zjob_cli_batch_option (cli, opt, arg, batch, &rc);
    return taken < 0 ? rc : taken == 1 ? 0
                                       : -1;
}

Test (zjob_cli_batch, options_make_the_batch_map)
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);
    zjob_cli_batch_t batch;
    memset (&batch, 0, sizeof (batch));
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_BATCH_ID, "nightly-7"), 0);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_BATCH_OPEN, NULL), 0);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK, "report"), 0);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "to=ops"), 0);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "n=3"), 0);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "{\"deep\": {\"a\": [1]}}"), 0);
    cr_assert_eq (s_option (&cli, &batch, 'x', "nothing of mine"), -1, "not a batch option");
    cr_assert_eq (zjob_cli_batch_ready (&cli, &batch), 0);
    cr_assert_str_eq (batch.opts.id, "nightly-7");
    cr_assert (batch.opts.open);
    cr_assert_eq (batch.opts.callback, &batch.callback);
    cr_assert_str_eq (batch.callback.workflow_id, "report");
    zjob_error_t err;
    char *json = zjob_msgpack_to_json (batch.callback.inputs, batch.callback.inputs_size,
                                       ZJOB_JSON_COMPACT, &err);
    cr_assert_not_null (json, "%s", err.text);
    cr_assert_not_null (strstr (json, "\"to\":\"ops\""), "%s", json);
    cr_assert_not_null (strstr (json, "\"n\":3"), "%s", json);
    cr_assert_not_null (strstr (json, "\"deep\":{\"a\":[1]}"), "%s", json);
    free (json);
    zjob_cli_batch_free (&batch);
    zjob_cli_fini (&cli);
}

Test (zjob_cli_batch, bad_options_are_refused)
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);
    zjob_cli_batch_t batch;
    memset (&batch, 0, sizeof (batch));
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_BATCH_ID, "has space"), ZJOB_EXIT_BAD_INPUT);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "novalue"), ZJOB_EXIT_BAD_INPUT);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "=x"), ZJOB_EXIT_BAD_INPUT);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "{not json"), ZJOB_EXIT_BAD_INPUT);
    //  --callback-input without --callback, and either without --batch-id
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK_INPUT, "a=1"), 0);
    cr_assert_eq (zjob_cli_batch_ready (&cli, &batch), ZJOB_EXIT_USAGE);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_BATCH_ID, "b"), 0);
    cr_assert_eq (zjob_cli_batch_ready (&cli, &batch), ZJOB_EXIT_USAGE);
    cr_assert_eq (s_option (&cli, &batch, ZJOB_OPT_CALLBACK, "not a name"), 0);
    cr_assert_eq (zjob_cli_batch_ready (&cli, &batch), ZJOB_EXIT_BAD_INPUT);
    zjob_cli_batch_free (&batch);
    zjob_cli_fini (&cli);
}
