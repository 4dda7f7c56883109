/*  =========================================================================
    test_zjob_cli_template - the CLI's parts of templates, called directly

    --input and --metadata as KEY=VALUE and JSON objects, repeated
    (zjob_cli_object_args), and `zjob template` refusing bad usage and bad
    settings before it connects (no broker here: a command that tried
    would fail with exit 5, not the code the test expects).
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_core.h"
#include "cli_args.h"
#include "cli_commands.h"

//  The object the arguments make, as sorted compact JSON (free it), or
//  NULL with *rc_p the exit code
static char *
s_object (const char *const *args, size_t count, int *rc_p)
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);
    uint8_t *data = NULL;
    size_t size = 0;
    *rc_p = zjob_cli_object_args (&cli, "--input", args, count, &data, &size);
    zjob_cli_fini (&cli);
    if (*rc_p)
        return NULL;
    if (!data)
        return strdup ("(none)");
    zjob_error_t err;
    json_t *value = zjob_msgpack_to_json_value (data, size, &err);
    free (data);
    cr_assert_not_null (value, "%s", err.text);
    char *text = json_dumps (value, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (value);
    return text;
}

static void
s_expect (const char *const *args, size_t count, const char *expected)
{
    int rc;
    char *text = s_object (args, count, &rc);
    cr_assert_not_null (text, "exit %d", rc);
    cr_assert_str_eq (text, expected);
    free (text);
}

Test (cli_template, key_value_and_json_arguments)
{
    s_expect (NULL, 0, "(none)");
    const char *one [] = { "{\"a\": 1}" };
    s_expect (one, 1, "{\"a\":1}");
    //  VALUE is JSON when it is JSON, else a string
    const char *pairs [] = { "n=5", "flag=true", "none=null", "name=alice",
                             "quoted=\"x\"", "zip=01234", "list=[1,2]", "empty=",
                             "eq=a=b" };
    s_expect (pairs, 9,
              "{\"empty\":\"\",\"eq\":\"a=b\",\"flag\":true,\"list\":[1,2],\"n\":5,"
              "\"name\":\"alice\",\"none\":null,\"quoted\":\"x\",\"zip\":\"01234\"}");
    //  Objects and pairs together, in order: a later key wins
    const char *mixed [] = { "{\"a\": 1, \"b\": 2}", "b=3", "{\"c\": {\"d\": 4}}", "a=0" };
    s_expect (mixed, 4, "{\"a\":0,\"b\":3,\"c\":{\"d\":4}}");
    const char *file [] = { "@" ZJOB_SOURCE_DIR "/examples/job.json", "extra=1" };
    int rc;
    char *text = s_object (file, 2, &rc);
    cr_assert_not_null (text, "exit %d", rc);
    cr_assert (strstr (text, "\"extra\":1"), "%s", text);
    free (text);
}

Test (cli_template, bad_arguments_are_exit_2)
{
    const char *bad [][2] = {
        { "novalue", NULL },    //  No KEY=VALUE, so JSON, and not JSON
        { "=5", NULL },         //  No key
        { "{\"a\": }", NULL },  //  Bad JSON
        { "a=1", "[1, 2]" },    //  JSON, but not an object
        { "a=1", "@/nonexistent/inputs.json" },
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        int rc = 0;
        size_t count = bad [index][1] ? 2 : 1;
        const char *args [] = { bad [index][0], bad [index][1] };
        cr_assert_null (s_object (args, count, &rc), "case %zu", index);
        cr_assert_eq (rc, ZJOB_EXIT_BAD_INPUT, "case %zu: exit %d", index, rc);
    }
}

//  Run `zjob template ARGS...` without a broker; returns the exit code
static int
s_run (int argc, char **argv)
{
    zjob_cli_t cli;
    zjob_cli_init (&cli);
    zjob_cli_endpoint_set (cli.broker, "tcp://127.0.0.1:1");  //  Nobody there
    cli.command = "template";
    int rc = zjob_cli_cmd_template (&cli, argc, argv);
    cr_assert_null (cli.client, "connected, for input refused before that");
    zjob_cli_fini (&cli);
    return rc;
}

Test (cli_template, refused_before_connecting)
{
    char *none [] = { "template" };
    cr_assert_eq (s_run (1, none), ZJOB_EXIT_USAGE);
    char *unknown [] = { "template", "rename", "a" };
    cr_assert_eq (s_run (3, unknown), ZJOB_EXIT_USAGE);
    char *no_workflow [] = { "template", "set", "t" };
    cr_assert_eq (s_run (3, no_workflow), ZJOB_EXIT_USAGE);
    char *no_name [] = { "template", "set", "--workflow", "w" };
    cr_assert_eq (s_run (4, no_name), ZJOB_EXIT_USAGE);
    char *bad_name [] = { "template", "set", "a b", "--workflow", "w" };
    cr_assert_eq (s_run (5, bad_name), ZJOB_EXIT_BAD_INPUT);
    char *bad_tag [] = { "template", "set", "t", "--workflow", "w", "--tag", "a b" };
    cr_assert_eq (s_run (7, bad_tag), ZJOB_EXIT_BAD_INPUT);
    char *bad_priority [] = { "template", "set", "t", "-w", "w", "--priority", "urgent" };
    cr_assert_eq (s_run (7, bad_priority), ZJOB_EXIT_BAD_INPUT);
    char *bad_input [] = { "template", "set", "t", "-w", "w", "--input", "novalue" };
    cr_assert_eq (s_run (7, bad_input), ZJOB_EXIT_BAD_INPUT);
    char *bad_limit [] = { "template", "list", "--limit", "0" };
    cr_assert_eq (s_run (4, bad_limit), ZJOB_EXIT_BAD_INPUT);
    char *two_names [] = { "template", "get", "a", "b" };
    cr_assert_eq (s_run (4, two_names), ZJOB_EXIT_USAGE);
}
