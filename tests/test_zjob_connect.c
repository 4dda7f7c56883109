/*  =========================================================================
    test_zjob_connect - a peer's CURVE options: certificates and the
    broker's key, and the plain errors when either is wrong
    ========================================================================= */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "zjob_connect.h"
#include "helper_zjob_test.h"

static char *s_dir;
static char s_own [600];     //  alice.key_secret: both keys, user_id alice
static char s_public [600];  //  alice.key: the public half
static char s_broker [600];  //  broker.key: a broker's public certificate
static char s_broker_txt [41];

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    zcert_t *cert = zcert_new ();
    zcert_set_meta (cert, "user_id", "%s", "alice");
    snprintf (s_public, sizeof (s_public), "%s/alice.key", s_dir);
    snprintf (s_own, sizeof (s_own), "%s/alice.key_secret", s_dir);
    cr_assert_eq (zcert_save (cert, s_public), 0);
    zcert_destroy (&cert);
    cert = zcert_new ();
    snprintf (s_broker, sizeof (s_broker), "%s/broker.key", s_dir);
    cr_assert_eq (zcert_save_public (cert, s_broker), 0);
    memcpy (s_broker_txt, zcert_public_txt (cert), 41);
    zcert_destroy (&cert);
}

static void
s_teardown (void)
{
    zjob_test_tmpdir_done (&s_dir);
}

TestSuite (connect, .init = s_setup, .fini = s_teardown);

static int
s_apply (const char *cert, const char *broker_key, zjob_error_t *err)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zjob_connect_opts_t opts = { cert, broker_key };
    int rc = zjob_connect_apply (sock, &opts, err);
    zsock_destroy (&sock);
    return rc;
}

Test (connect, no_cert_is_no_curve)
{
    zjob_error_t err;
    cr_assert_not (zjob_connect_secure (NULL));
    zjob_connect_opts_t opts = { NULL, "whatever" };
    cr_assert_not (zjob_connect_secure (&opts));
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    cr_assert_eq (zjob_connect_apply (sock, &opts, &err), 0);
    cr_assert_eq (zsock_mechanism (sock), ZMQ_NULL);
    zsock_destroy (&sock);
}

Test (connect, a_secret_cert_and_a_key_or_file_make_a_curve_client)
{
    zjob_error_t err;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zjob_connect_opts_t opts = { s_own, s_broker_txt };
    cr_assert_eq (zjob_connect_apply (sock, &opts, &err), 0, "%s", err.text);
    cr_assert_eq (zsock_mechanism (sock), ZMQ_CURVE);
    char *server = zsock_curve_serverkey (sock);
    cr_assert_str_eq (server, s_broker_txt);
    zstr_free (&server);
    zsock_destroy (&sock);
    cr_assert_eq (s_apply (s_own, s_broker, &err), 0, "%s", err.text);
}

Test (connect, wrong_files_and_keys_say_what_is_wrong)
{
    zjob_error_t err;
    cr_assert_eq (s_apply ("/nonexistent/me.key_secret", s_broker_txt, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "cannot read the certificate"), "%s", err.text);
    //  broker.key has no broker.key_secret beside it (zcert_load would read that)
    cr_assert_eq (s_apply (s_broker, s_broker_txt, &err), -1);
    cr_assert_not_null (strstr (err.text, "no secret key"), "%s", err.text);
    cr_assert_eq (s_apply (s_own, NULL, &err), -1);
    cr_assert_not_null (strstr (err.text, "no broker key"), "%s", err.text);
    cr_assert_eq (s_apply (s_own, "short", &err), -1);
    cr_assert_not_null (strstr (err.text, "neither 40 Z85"), "%s", err.text);
    //  40 characters, not Z85 ('"' is outside its alphabet)
    cr_assert_eq (s_apply (s_own, "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"", &err), -1);
}
