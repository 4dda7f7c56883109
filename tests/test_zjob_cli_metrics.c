/*  =========================================================================
    test_zjob_cli_metrics - `zjob metrics`, run as a person or a script would

    The real zjobd and the real zjob binary (test_zjob_cli_child.h): the
    text as the broker renders it, --json, and a usage error.
    ========================================================================= */

#include "test_zjob_cli_child.h"

TestSuite (zjob_cli_metrics, .init = s_broker_start, .fini = s_broker_stop, .timeout = 120);

Test (zjob_cli_metrics, prints_the_prometheus_text)
{
    char *id = s_submit ("metered", "{}", NULL);
    free (id);
    s_child_t *child = s_zjob ("metrics");
    cr_assert_eq (child->code, 0, "stderr: %s", child->err);
    s_assert_contains (child->out, "# TYPE zjob_jobs_submitted_total counter\n");
    s_assert_contains (child->out, "\nzjob_jobs_submitted_total{workflow=\"metered\"} 1\n");
    s_assert_contains (child->out, "\nzjob_jobs{workflow=\"metered\",status=\"queued\"} 1\n");
    cr_assert_str_eq (child->err, "");
    s_child_destroy (&child);

    child = s_zjob ("metrics", "--json");
    cr_assert_eq (child->code, 0, "stderr: %s", child->err);
    json_t *body = s_json (child);
    cr_assert_str_eq (json_string_value (json_object_get (body, "format")),
                      "prometheus-text-0.0.4");
    s_assert_contains (json_string_value (json_object_get (body, "text")),
                       "# TYPE zjob_loop_pass_seconds histogram\n");
    json_decref (body);
    s_child_destroy (&child);
}

Test (zjob_cli_metrics, an_argument_is_a_usage_error)
{
    s_child_t *child = s_zjob ("metrics", "extra");
    cr_assert_eq (child->code, 1, "stderr: %s", child->err);
    cr_assert_str_eq (child->out, "");
    s_child_destroy (&child);
}
