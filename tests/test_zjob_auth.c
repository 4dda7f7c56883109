/*  =========================================================================
    test_zjob_auth - the broker's key lists, its ZAP handler, and CURVE
    end to end

    keys_*: key directories read by zjob_auth (roles, metadata and their
    defaults, files skipped, files refused, duplicates, reloads that keep
    the old lists on error). zap_*: the ZAP handler answering requests
    sent by hand on the ZAP endpoint, malformed ones too. broker_*: a
    broker actor in this process with curve-secret and keys,
    and DEALERs with certificates over real CURVE handshakes on 127.0.0.1;
    a refusal is proved by the client's own socket monitor
    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), not by a timeout. zjobd_*: the
    daemon's loopback rule, --insecure, and SIGHUP reloading the keys.
    ========================================================================= */

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "zjob_auth.h"
#include "zjob_config.h"
#include "helper_zjob_test.h"

#define S_WAIT 5000  //  msecs a broker or a handshake may take

static char *s_dir = NULL;             //  The test's directory
static zjob_test_broker_t s_broker;    //  The in-process broker, if any
static zcert_t *s_broker_cert = NULL;  //  Its certificate
static pid_t s_daemon = 0;             //  A zjobd child, if any

static void
s_setup (void)
{
    s_dir = zjob_test_tmpdir ();
    cr_assert_not_null (s_dir);
}

static void
s_teardown (void)
{
    zjob_test_broker_stop (&s_broker);
    zcert_destroy (&s_broker_cert);
    zjob_test_stop (&s_daemon, SIGKILL, S_WAIT);
    zjob_test_tmpdir_done (&s_dir);
}

//  A new key of role (admin, client, worker) saved as DIR/keys/role/name
//  (a public certificate) with the metadata given (NULL: none). Returns
//  the certificate (with its secret key), for a peer to use.
static zcert_t *
s_key (const char *role, const char *name, const char *user, const char *workflows)
{
    zcert_t *cert = zcert_new ();
    cr_assert_not_null (cert);
    if (user)
        zcert_set_meta (cert, "user_id", "%s", user);
    if (workflows)
        zcert_set_meta (cert, "workflows", "%s", workflows);
    char path [1024];
    snprintf (path, sizeof (path), "%s/keys/%s", s_dir, role);
    cr_assert_eq (zsys_dir_create ("%s", path), 0);
    snprintf (path, sizeof (path), "%s/keys/%s/%s", s_dir, role, name);
    cr_assert_eq (zcert_save_public (cert, path), 0);
    return cert;
}

//  Write text into DIR/keys/role/name
static void
s_file (const char *role, const char *name, const char *text)
{
    char path [1024];
    snprintf (path, sizeof (path), "%s/keys/%s", s_dir, role);
    cr_assert_eq (zsys_dir_create ("%s", path), 0);
    snprintf (path, sizeof (path), "%s/keys/%s/%s", s_dir, role, name);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (text, file);
    fclose (file);
}

static void
s_remove (const char *role, const char *name)
{
    char path [1024];
    snprintf (path, sizeof (path), "%s/keys/%s/%s", s_dir, role, name);
    cr_assert_eq (unlink (path), 0);
}

static char *
s_keys_dir (void)
{
    static char path [1024];
    snprintf (path, sizeof (path), "%s/keys", s_dir);
    zsys_dir_create ("%s", path);
    return path;
}

//  zjob_auth_new on the test's keys, asserting it fails with a message
//  containing each of the NULL-terminated parts
static void
s_refused (const char *first, ...)
{
    zjob_error_t err;
    zjob_auth_t *auth = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_null (auth, "the keys were taken");
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    va_list args;
    va_start (args, first);
    for (const char *part = first; part; part = va_arg (args, const char *))
        cr_assert_not_null (strstr (err.text, part), "'%s' not in: %s", part, err.text);
    va_end (args);
}


//  --------------------------------------------------------------------------
//  Key directories

TestSuite (auth, .init = s_setup, .fini = s_teardown, .timeout = 60);

Test (auth, keys_roles_metadata_and_defaults)
{
    zcert_t *admin = s_key ("admin", "ops.key", "ignored", "ignored");
    zcert_t *alice = s_key ("client", "alice.key", "alice-user", NULL);
    zcert_t *bob = s_key ("client", "bob.key", NULL, NULL);
    zcert_t *narrow = s_key ("worker", "resizer.key", NULL, "resize,thumb");
    zcert_t *any = s_key ("worker", "any", NULL, "*");
    zjob_error_t err;
    zjob_auth_t *auth = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_not_null (auth, "%s", err.text);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_ADMIN), 1);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_CLIENT), 2);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_WORKER), 2);

    const zjob_peer_t *peer = zjob_auth_lookup (auth, zcert_public_txt (admin));
    cr_assert_not_null (peer);
    cr_assert_eq (peer->role, ZJOB_ROLE_ADMIN);
    cr_assert_str_eq (peer->name, "ops");
    cr_assert_null (peer->user_id, "an admin has no user");
    cr_assert_null (peer->workflows);
    cr_assert_str_eq (peer->key, zcert_public_txt (admin));

    peer = zjob_auth_lookup (auth, zcert_public_txt (alice));
    cr_assert_eq (peer->role, ZJOB_ROLE_CLIENT);
    cr_assert_str_eq (peer->user_id, "alice-user");
    peer = zjob_auth_lookup (auth, zcert_public_txt (bob));
    cr_assert_str_eq (peer->user_id, "bob", "the default user: the file name without .key");

    peer = zjob_auth_lookup (auth, zcert_public_txt (narrow));
    cr_assert_eq (peer->role, ZJOB_ROLE_WORKER);
    cr_assert_str_eq (peer->workflows, "resize,thumb");
    cr_assert_null (peer->user_id);
    peer = zjob_auth_lookup (auth, zcert_public_txt (any));
    cr_assert_str_eq (peer->name, "any");
    cr_assert_null (peer->workflows, "* is any workflow");

    zcert_t *stranger = zcert_new ();
    cr_assert_null (zjob_auth_lookup (auth, zcert_public_txt (stranger)));
    cr_assert_null (zjob_auth_lookup (auth, NULL));
    cr_assert_null (zjob_auth_lookup (auth, "short"));
    zcert_destroy (&stranger);
    zjob_auth_destroy (&auth);
    zjob_auth_destroy (&auth);  //  Safe twice
    zcert_destroy (&admin);
    zcert_destroy (&alice);
    zcert_destroy (&bob);
    zcert_destroy (&narrow);
    zcert_destroy (&any);
}

Test (auth, keys_skips_hidden_secret_and_directories_and_missing_roles)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    //  What keygen leaves beside a public key, and what editors leave
    s_file ("client", "alice.key_secret", "garbage that would not parse {{{");
    s_file ("client", ".alice.key.swp", "garbage");
    char path [1024];
    snprintf (path, sizeof (path), "%s/keys/client/subdir", s_dir);
    cr_assert_eq (zsys_dir_create ("%s", path), 0);
    zjob_error_t err;
    zjob_auth_t *auth = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_not_null (auth, "%s", err.text);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_CLIENT), 1);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_ADMIN), 0, "no admin/: no admin keys");
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_WORKER), 0);
    cr_assert_not_null (zjob_auth_lookup (auth, zcert_public_txt (alice)));
    zjob_auth_destroy (&auth);
    zcert_destroy (&alice);
}

Test (auth, keys_a_key_listed_twice_is_refused_naming_both_files)
{
    zcert_t *cert = s_key ("client", "alice.key", NULL, NULL);
    char path [1024];
    snprintf (path, sizeof (path), "%s/keys/worker", s_dir);
    zsys_dir_create ("%s", path);
    snprintf (path, sizeof (path), "%s/keys/worker/w1.key", s_dir);
    cr_assert_eq (zcert_save_public (cert, path), 0);
    s_refused ("listed twice", "client/alice.key", "worker/w1.key", zcert_public_txt (cert),
               NULL);
    //  Twice in one role too
    s_remove ("worker", "w1.key");
    snprintf (path, sizeof (path), "%s/keys/client/again.key", s_dir);
    cr_assert_eq (zcert_save_public (cert, path), 0);
    s_refused ("listed twice", "client/again.key", "client/alice.key", NULL);
    zcert_destroy (&cert);
}

Test (auth, keys_bad_files_are_refused_with_their_name)
{
    s_file ("client", "junk.key", "this is { not ZPL\n\t\tat all\n  ]]\n");
    s_refused ("client/junk.key", "not a certificate", NULL);
    s_remove ("client", "junk.key");

    s_file ("client", "short.key", "curve\n    public-key = \"tooshort\"\n");
    s_refused ("client/short.key", "Z85", NULL);
    s_remove ("client", "short.key");

    s_file ("admin", "nokey.key", "metadata\n    user_id = \"x\"\n");
    s_refused ("admin/nokey.key", "public-key", NULL);
    s_remove ("admin", "nokey.key");

    zcert_t *cert = s_key ("worker", "w.key", NULL, "resize,,thumb");
    s_refused ("worker/w.key", "workflows", NULL);
    s_remove ("worker", "w.key");
    zcert_destroy (&cert);

    cert = s_key ("client", "c.key", "has space", NULL);
    s_refused ("client/c.key", "user_id", NULL);
    zcert_destroy (&cert);

    zjob_error_t err;
    char path [1024];
    snprintf (path, sizeof (path), "%s/nowhere", s_dir);
    cr_assert_null (zjob_auth_new (path, ZJOB_LOG_ERROR, &err));
    cr_assert_not_null (strstr (err.text, "nowhere"), "%s", err.text);
    snprintf (path, sizeof (path), "%s/keys/client/c.key", s_dir);
    cr_assert_null (zjob_auth_new (path, ZJOB_LOG_ERROR, &err), "a file is not a directory");
    cr_assert_null (zjob_auth_new ("", ZJOB_LOG_ERROR, &err));
}

Test (auth, keys_reload_swaps_the_lists_or_keeps_the_old_ones)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    zjob_error_t err;
    zjob_auth_t *auth = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_not_null (auth, "%s", err.text);
    zcert_t *bob = s_key ("client", "bob.key", NULL, NULL);
    cr_assert_null (zjob_auth_lookup (auth, zcert_public_txt (bob)), "not before the reload");
    cr_assert_eq (zjob_auth_reload (auth, &err), 0, "%s", err.text);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_CLIENT), 2);
    cr_assert_not_null (zjob_auth_lookup (auth, zcert_public_txt (bob)));

    //  A bad file: the reload fails and the lists stay as they were
    s_remove ("client", "alice.key");
    s_file ("client", "junk.key", "[[[");
    cr_assert_eq (zjob_auth_reload (auth, &err), -1);
    cr_assert_not_null (strstr (err.text, "junk.key"), "%s", err.text);
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_CLIENT), 2);
    cr_assert_not_null (zjob_auth_lookup (auth, zcert_public_txt (alice)), "old lists kept");

    s_remove ("client", "junk.key");
    cr_assert_eq (zjob_auth_reload (auth, &err), 0, "%s", err.text);
    cr_assert_null (zjob_auth_lookup (auth, zcert_public_txt (alice)), "alice is revoked");
    cr_assert_not_null (zjob_auth_lookup (auth, zcert_public_txt (bob)));
    cr_assert_eq (zjob_auth_count (auth, ZJOB_ROLE_CLIENT), 1);
    zjob_auth_destroy (&auth);
    zcert_destroy (&alice);
    zcert_destroy (&bob);
}

Test (auth, keys_loopback_endpoints)
{
    const char *loopback [] = { "tcp://127.0.0.1:5570", "tcp://127.0.0.1:*", "tcp://127.1.2.3:1",
                                "tcp://[::1]:5570", "tcp://localhost:5570", "ipc:///tmp/zjob",
                                "inproc://zjob" };
    const char *open [] = { "tcp://0.0.0.0:5570", "tcp://*:5570", "tcp://10.0.0.1:5570",
                            "tcp://127.example.com:5570", "tcp://eth0:5570", "tcp://[::]:5570",
                            "tcp://localhost.evil:1", "udp://127.0.0.1:1", "", "127.0.0.1:5570" };
    for (size_t index = 0; index < sizeof (loopback) / sizeof (loopback [0]); index++)
        cr_assert (zjob_endpoint_is_loopback (loopback [index]), "%s", loopback [index]);
    for (size_t index = 0; index < sizeof (open) / sizeof (open [0]); index++)
        cr_assert_not (zjob_endpoint_is_loopback (open [index]), "%s", open [index]);
    cr_assert_not (zjob_endpoint_is_loopback (NULL));

    zjob_broker_config_t config;
    zjob_broker_config_init (&config);
    zjob_error_t err;
    cr_assert_eq (zjob_broker_config_check (&config, &err), 0, "the defaults are loopback");
    cr_assert_eq (zjob_broker_config_set (&config, "workers", "tcp://0.0.0.0:5571", &err), 0);
    cr_assert_eq (zjob_broker_config_check (&config, &err), -1);
    cr_assert_str_eq (err.text,
                      "refusing to bind tcp://0.0.0.0:5571 without CURVE: anyone who can reach "
                      "it could submit, cancel and delete jobs or pose as a worker; give "
                      "--curve-secret and --keys, or --insecure");
    cr_assert_eq (zjob_broker_config_set (&config, "insecure", "maybe", &err), -1);
    cr_assert_eq (zjob_broker_config_set (&config, "insecure", "true", &err), 0);
    cr_assert_eq (zjob_broker_config_check (&config, &err), 0);
    cr_assert_eq (zjob_broker_config_set (&config, "keys", "/etc/zjob/keys", &err), 0);
    cr_assert_eq (zjob_broker_config_check (&config, &err), -1, "keys without curve-secret");
    cr_assert_not_null (strstr (err.text, "--curve-secret"), "%s", err.text);
    cr_assert_eq (zjob_broker_config_set (&config, "curve-secret", "/etc/zjob/b.key_secret", &err),
                  0);
    cr_assert_eq (zjob_broker_config_set (&config, "insecure", "false", &err), 0);
    cr_assert_eq (zjob_broker_config_check (&config, &err), 0, "CURVE may bind anywhere");
}


//  --------------------------------------------------------------------------
//  The ZAP handler, spoken to by hand

//  Send a ZAP request (NULL-ended text frames after the delimiter, then
//  credentials of size bytes unless NULL) on sock
static void
s_zap_request (zsock_t *sock, const void *credentials, size_t size, const char *first, ...)
{
    void *handle = zsock_resolve (sock);
    zmq_send (handle, "", 0, ZMQ_SNDMORE);
    va_list args;
    va_start (args, first);
    const char *next = NULL;
    for (const char *part = first; part; part = next) {
        next = va_arg (args, const char *);
        zmq_send (handle, part, strlen (part), next || credentials ? ZMQ_SNDMORE : 0);
    }
    va_end (args);
    if (credentials)
        zmq_send (handle, credentials, size, 0);
}

//  Serve auth until it answered a request, then read the reply on sock:
//  its status code and user id (into user)
static int
s_zap_reply (zjob_auth_t *auth, zsock_t *sock, char *user, size_t size)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    zmsg_t *reply = NULL;
    while (!reply && zclock_mono () < deadline) {
        zmq_pollitem_t item = { zjob_auth_handle (auth), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 20);
        zjob_auth_serve (auth, 10);
        zsock_set_rcvtimeo (sock, 20);
        reply = zmsg_recv (sock);
    }
    cr_assert_not_null (reply, "no ZAP reply");
    cr_assert_eq (zmsg_size (reply), 7, "empty, version, id, status, text, user, metadata");
    zframe_t *frame = zmsg_first (reply);
    cr_assert_eq (zframe_size (frame), 0);
    cr_assert (zframe_streq (zmsg_next (reply), "1.0"));
    cr_assert (zframe_streq (zmsg_next (reply), "42"), "the request id echoed");
    char *status = zframe_strdup (zmsg_next (reply));
    zmsg_next (reply);  //  Status text
    char *user_id = zframe_strdup (zmsg_next (reply));
    snprintf (user, size, "%s", user_id);
    int code = atoi (status);
    free (status);
    free (user_id);
    zmsg_destroy (&reply);
    return code;
}

Test (auth, zap_answers_by_domain_role_and_mechanism)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    zcert_t *worker = s_key ("worker", "w.key", NULL, NULL);
    zcert_t *admin = s_key ("admin", "root.key", NULL, NULL);
    zjob_error_t err;
    zjob_auth_t *auth = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_not_null (auth, "%s", err.text);
    cr_assert_null (zjob_auth_handle (auth), "not bound yet");
    cr_assert_eq (zjob_auth_serve (auth, 10), 0);
    cr_assert_eq (zjob_auth_bind (auth, &err), 0, "%s", err.text);
    cr_assert_not_null (zjob_auth_handle (auth));

    //  One handler per process
    zjob_auth_t *second = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_not_null (second);
    cr_assert_eq (zjob_auth_bind (second, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert_not_null (strstr (err.text, "only one"), "%s", err.text);
    zjob_auth_destroy (&second);

    zsock_t *sock = zsock_new_dealer (ZJOB_AUTH_ENDPOINT);
    cr_assert_not_null (sock);
    char user [64];
    struct {
        zcert_t *cert;
        const char *domain;
        int code;
    } cases [] = { { alice, "clients", 200 }, { alice, "events", 200 }, { alice, "workers", 400 }, { worker, "workers", 200 }, { worker, "clients", 400 }, { worker, "events", 400 }, { admin, "clients", 200 }, { admin, "workers", 200 }, { admin, "events", 200 }, { admin, "other", 400 } };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++) {
        s_zap_request (sock, zcert_public_key (cases [index].cert), 32, "1.0", "42",
                       cases [index].domain, "127.0.0.1", "", "CURVE", NULL);
        int code = s_zap_reply (auth, sock, user, sizeof (user));
        cr_assert_eq (code, cases [index].code, "case %zu: %d", index, code);
        cr_assert_str_eq (user, code == 200 ? zcert_public_txt (cases [index].cert) : "",
                          "the user id is the key, in Z85");
    }
    zcert_t *stranger = zcert_new ();
    s_zap_request (sock, zcert_public_key (stranger), 32, "1.0", "42", "clients", "127.0.0.1", "",
                   "CURVE", NULL);
    cr_assert_eq (s_zap_reply (auth, sock, user, sizeof (user)), 400, "not listed");
    //  Not CURVE: refused
    s_zap_request (sock, NULL, 0, "1.0", "42", "clients", "127.0.0.1", "", "NULL", NULL);
    cr_assert_eq (s_zap_reply (auth, sock, user, sizeof (user)), 400);
    s_zap_request (sock, "user\0pass", 9, "1.0", "42", "clients", "127.0.0.1", "", "PLAIN", NULL);
    cr_assert_eq (s_zap_reply (auth, sock, user, sizeof (user)), 400);
    //  Malformed requests are dropped: a wrong version, too few frames, a
    //  short key; the good request after them is still answered
    s_zap_request (sock, zcert_public_key (alice), 32, "2.0", "42", "clients", "127.0.0.1", "",
                   "CURVE", NULL);
    s_zap_request (sock, NULL, 0, "1.0", "42", "clients", NULL);
    s_zap_request (sock, zcert_public_key (alice), 31, "1.0", "42", "clients", "127.0.0.1", "",
                   "CURVE", NULL);
    s_zap_request (sock, zcert_public_key (alice), 32, "1.0", "42", "clients", "127.0.0.1", "",
                   "CURVE", NULL);
    //  (the short key is answered 400 first, then the good one 200)
    cr_assert_eq (s_zap_reply (auth, sock, user, sizeof (user)), 400);
    cr_assert_eq (s_zap_reply (auth, sock, user, sizeof (user)), 200);
    cr_assert_str_eq (user, zcert_public_txt (alice));

    zsock_destroy (&sock);
    zjob_auth_destroy (&auth);
    //  The endpoint is free again at once
    auth = zjob_auth_new (s_keys_dir (), ZJOB_LOG_ERROR, &err);
    cr_assert_eq (zjob_auth_bind (auth, &err), 0, "%s", err.text);
    zjob_auth_destroy (&auth);
    zcert_destroy (&stranger);
    zcert_destroy (&alice);
    zcert_destroy (&worker);
    zcert_destroy (&admin);
}


//  --------------------------------------------------------------------------
//  A broker with CURVE, in this process

//  The broker's certificate, saved as DIR/broker.key and .key_secret;
//  returns the path of the secret one
static const char *
s_broker_secret (void)
{
    static char path [1024];
    zcert_destroy (&s_broker_cert);
    s_broker_cert = zcert_new ();
    snprintf (path, sizeof (path), "%s/broker.key", s_dir);
    cr_assert_eq (zcert_save (s_broker_cert, path), 0);
    snprintf (path, sizeof (path), "%s/broker.key_secret", s_dir);
    return path;
}

//  Start the broker with CURVE on the test's keys; 0 or -1 with err
static int
s_start_curve (const char *secret, zjob_error_t *err)
{
    const char *options [][2] = { { "curve-secret", secret }, { "keys", s_keys_dir () } };
    return zjob_test_broker_start_with (&s_broker, "memory:", NULL, options, 2, err);
}

//  A DEALER with cert (NULL: none) for the broker's key, connected to
//  endpoint, its handshakes watched by *monitor_p (a PAIR on its monitor)
static zsock_t *
s_dealer (const char *endpoint, zcert_t *cert, zsock_t **monitor_p)
{
    static int s_monitors = 0;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    cr_assert_not_null (sock);
    zjob_proto_socket_setup (sock);
    zsock_set_linger (sock, 0);
    if (cert) {
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey (sock, zcert_public_txt (s_broker_cert));
    }
    char monitor [64];
    snprintf (monitor, sizeof (monitor), "inproc://test-auth-monitor-%d", ++s_monitors);
    cr_assert_eq (zmq_socket_monitor (zsock_resolve (sock), monitor,
                                      ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                                          | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                          | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                          | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                  0);
    *monitor_p = zsock_new (ZMQ_PAIR);
    cr_assert_not_null (*monitor_p);
    cr_assert_eq (zsock_connect (*monitor_p, "%s", monitor), 0);
    cr_assert_eq (zsock_connect (sock, "%s", endpoint), 0);
    return sock;
}

//  The next handshake event on monitor within S_WAIT (0 if none); its
//  value (the ZAP status of an auth failure) into *value_p
static int
s_handshake (zsock_t *monitor, int *value_p)
{
    zsock_set_rcvtimeo (monitor, S_WAIT);
    zmsg_t *event = zmsg_recv (monitor);
    if (!event)
        return 0;
    zframe_t *frame = zmsg_first (event);
    int id = 0;
    if (frame && zframe_size (frame) == 6) {
        uint16_t event_id;
        uint32_t value;
        memcpy (&event_id, zframe_data (frame), 2);
        memcpy (&value, zframe_data (frame) + 2, 4);
        id = event_id;
        if (value_p)
            *value_p = (int) value;
    }
    zmsg_destroy (&event);
    return id;
}

//  PING on sock: the reply (OK, or ERROR), or NULL on timeout
static zjob_msg_t *
s_ping (zsock_t *sock, uint64_t request_id, int timeout_ms)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_PING, request_id);
    zjob_msg_t *reply = zjob_test_call (sock, builder, timeout_ms);
    zjob_msg_builder_destroy (&builder);
    return reply;
}

//  Assert that sock (watched by monitor) is refused at the handshake
static void
s_assert_refused (zsock_t *sock, zsock_t *monitor)
{
    int value = 0;
    int event = s_handshake (monitor, &value);
    cr_assert_eq (event, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, "event 0x%x", event);
    cr_assert_eq (value, 400, "the ZAP status");
    //  And nothing it sent is ever answered. Sent without blocking: libzmq
    //  never reconnects after a refusal, so the DEALER may have no pipe
    //  left, and a blocking send would wait for ever
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_PING, 9);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_msg_builder_destroy (&builder);
    cr_assert_not_null (frame);
    zmq_send (zsock_resolve (sock), zframe_data (frame), zframe_size (frame), ZMQ_DONTWAIT);
    zframe_destroy (&frame);
    zjob_msg_t *reply = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_CLIENT, 0);
    cr_assert_null (reply);
}

Test (auth, broker_a_listed_client_is_served_others_are_refused_at_the_handshake)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    zcert_t *worker = s_key ("worker", "w.key", NULL, NULL);
    zcert_t *admin = s_key ("admin", "root.key", NULL, NULL);
    zcert_t *stranger = zcert_new ();
    zjob_error_t err;
    cr_assert_eq (s_start_curve (s_broker_secret (), &err), 0, "%s", err.text);

    zsock_t *monitor;
    zsock_t *client = s_dealer (s_broker.clients, alice, &monitor);
    cr_assert_eq (s_handshake (monitor, NULL), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    zjob_msg_t *reply = s_ping (client, 1, S_WAIT);
    cr_assert_not_null (reply, "a listed client key is answered");
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zsock_destroy (&client);
    zsock_destroy (&monitor);

    //  An admin key, on each socket
    client = s_dealer (s_broker.clients, admin, &monitor);
    cr_assert_eq (s_handshake (monitor, NULL), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    reply = s_ping (client, 2, S_WAIT);
    cr_assert_not_null (reply);
    zjob_msg_destroy (&reply);
    zsock_destroy (&client);
    zsock_destroy (&monitor);
    client = s_dealer (s_broker.workers, admin, &monitor);
    cr_assert_eq (s_handshake (monitor, NULL), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    zsock_destroy (&client);
    zsock_destroy (&monitor);

    //  Unknown key, a worker key on the clients socket, a client key on
    //  the workers socket: refused
    zcert_t *refused [] = { stranger, worker, alice };
    const char *endpoints [] = { s_broker.clients, s_broker.clients, s_broker.workers };
    for (size_t index = 0; index < 3; index++) {
        client = s_dealer (endpoints [index], refused [index], &monitor);
        s_assert_refused (client, monitor);
        zsock_destroy (&client);
        zsock_destroy (&monitor);
    }
    //  No certificate at all: the handshake fails too
    client = s_dealer (s_broker.clients, NULL, &monitor);
    int event = s_handshake (monitor, NULL);
    cr_assert (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                   || event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
               "event 0x%x", event);
    zsock_destroy (&client);
    zsock_destroy (&monitor);

    zcert_destroy (&alice);
    zcert_destroy (&worker);
    zcert_destroy (&admin);
    zcert_destroy (&stranger);
}

//  READY for workflows from sock; the reply
static zjob_msg_t *
s_ready (zsock_t *sock, const char *worker_id, const char *const *workflows, size_t count)
{
    zjob_msg_builder_t *builder = zjob_msg_builder_new ();
    zjob_msg_begin (builder, ZJOB_CMD_READY, 1);
    zjob_msg_add_str (builder, "worker_id", worker_id);
    zjob_msg_add_strs (builder, "workflows", workflows, count);
    zjob_msg_add_uint (builder, "slots", 1);
    zframe_t *frame = zjob_msg_end (builder, NULL);
    zjob_msg_builder_destroy (&builder);
    cr_assert_eq (zjob_test_send (sock, &frame), 0);
    //  The broker heartbeats a registered worker: skip those
    zjob_msg_t *reply = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_WORKER, S_WAIT);
    while (reply && zjob_msg_command (reply) == ZJOB_CMD_HEARTBEAT) {
        zjob_msg_destroy (&reply);
        reply = zjob_test_recv (sock, ZJOB_ROUTE_BROKER_WORKER, S_WAIT);
    }
    cr_assert_not_null (reply, "READY not answered");
    return reply;
}

Test (auth, broker_a_worker_key_serves_only_its_workflows)
{
    zcert_t *narrow = s_key ("worker", "resizer.key", NULL, "resize,thumb");
    zcert_t *admin = s_key ("admin", "root.key", NULL, NULL);
    zjob_error_t err;
    cr_assert_eq (s_start_curve (s_broker_secret (), &err), 0, "%s", err.text);
    zsock_t *monitor;
    zsock_t *worker = s_dealer (s_broker.workers, narrow, &monitor);
    const char *asked [] = { "thumb", "encode", "resize" };
    zjob_msg_t *reply = s_ready (worker, "w1", asked, 3);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_ERROR);
    zjob_msg_error (reply, &err);
    cr_assert_eq (err.code, ZJOB_FORBIDDEN);
    cr_assert_not_null (strstr (err.text, "workflow encode"), "%s", err.text);
    zjob_msg_destroy (&reply);

    //  A prefix of a listed workflow, or one with it as a prefix, is not it
    const char *near [] = { "resiz", "thumbs" };
    for (size_t index = 0; index < 2; index++) {
        reply = s_ready (worker, "w1", &near [index], 1);
        cr_assert_eq (zjob_msg_error (reply, &err), ZJOB_FORBIDDEN, "%s", near [index]);
        zjob_msg_destroy (&reply);
    }
    reply = s_ready (worker, "w1", asked, 1);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "thumb is on its list");
    zjob_msg_destroy (&reply);
    zsock_destroy (&worker);
    zsock_destroy (&monitor);

    //  An admin key serves anything
    worker = s_dealer (s_broker.workers, admin, &monitor);
    reply = s_ready (worker, "w2", asked, 3);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zsock_destroy (&worker);
    zsock_destroy (&monitor);
    zcert_destroy (&narrow);
    zcert_destroy (&admin);
}

//  RELOAD the broker, and wait until it has (the pipe is read in order:
//  the STATUS after it is answered once the reload is done)
static void
s_reload (void)
{
    zstr_send (s_broker.actor, "RELOAD");
    zstr_send (s_broker.actor, "STATUS");
    char *code = NULL, *text = NULL;
    cr_assert_eq (zstr_recvx (s_broker.actor, &code, &text, NULL), 2);
    zstr_free (&code);
    zstr_free (&text);
}

Test (auth, broker_a_key_dropped_by_a_reload_gets_401_on_its_open_connection)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    zcert_t *worker_cert = s_key ("worker", "w.key", NULL, NULL);
    zjob_error_t err;
    cr_assert_eq (s_start_curve (s_broker_secret (), &err), 0, "%s", err.text);
    zsock_t *monitor, *worker_monitor;
    zsock_t *client = s_dealer (s_broker.clients, alice, &monitor);
    zjob_msg_t *reply = s_ping (client, 1, S_WAIT);
    cr_assert_not_null (reply);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zsock_t *worker = s_dealer (s_broker.workers, worker_cert, &worker_monitor);
    const char *workflow = "resize";
    reply = s_ready (worker, "w1", &workflow, 1);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);

    //  A bad reload changes nothing
    s_file ("admin", "junk.key", "[[[");
    s_reload ();
    reply = s_ping (client, 2, S_WAIT);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK, "the old lists stay");
    zjob_msg_destroy (&reply);
    s_remove ("admin", "junk.key");

    s_remove ("client", "alice.key");
    s_remove ("worker", "w.key");
    s_reload ();
    reply = s_ping (client, 3, S_WAIT);
    cr_assert_not_null (reply, "a revoked key is told so");
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_ERROR);
    zjob_msg_error (reply, &err);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED);
    cr_assert_str_eq (err.text, "key no longer accepted");
    zjob_msg_destroy (&reply);
    //  The worker too, on the connection it has
    reply = s_ready (worker, "w1", &workflow, 1);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_ERROR);
    zjob_msg_error (reply, &err);
    cr_assert_eq (err.code, ZJOB_UNAUTHORIZED);
    zjob_msg_destroy (&reply);
    //  A new connection with it is refused at the handshake
    zsock_t *again_monitor;
    zsock_t *again = s_dealer (s_broker.clients, alice, &again_monitor);
    s_assert_refused (again, again_monitor);
    zsock_destroy (&again);
    zsock_destroy (&again_monitor);

    //  A key added and reloaded is served at once
    char path [1024];
    snprintf (path, sizeof (path), "%s/keys/client/alice.key", s_dir);
    cr_assert_eq (zcert_save_public (alice, path), 0);
    s_reload ();
    reply = s_ping (client, 4, S_WAIT);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);

    zsock_destroy (&client);
    zsock_destroy (&monitor);
    zsock_destroy (&worker);
    zsock_destroy (&worker_monitor);
    zcert_destroy (&alice);
    zcert_destroy (&worker_cert);
}

Test (auth, broker_bad_curve_setups_refuse_the_start)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    zjob_error_t err;
    //  A certificate without its secret key
    char path [1024];
    zcert_t *cert = zcert_new ();
    snprintf (path, sizeof (path), "%s/public-only.key", s_dir);
    cr_assert_eq (zcert_save_public (cert, path), 0);
    cr_assert_eq (s_start_curve (path, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "no secret key"), "%s", err.text);
    zcert_destroy (&cert);
    //  No such file
    snprintf (path, sizeof (path), "%s/none.key_secret", s_dir);
    cr_assert_eq (s_start_curve (path, &err), -1);
    cr_assert_not_null (strstr (err.text, "none.key_secret"), "%s", err.text);
    //  Bad keys
    s_file ("worker", "junk.key", "[[[");
    cr_assert_eq (s_start_curve (s_broker_secret (), &err), -1);
    cr_assert_not_null (strstr (err.text, "junk.key"), "%s", err.text);
    s_remove ("worker", "junk.key");
    //  curve-secret without keys
    const char *half [][2] = { { "curve-secret", "/nonexistent" } };
    cr_assert_eq (zjob_test_broker_start_with (&s_broker, "memory:", NULL, half, 1, &err), -1);
    cr_assert_not_null (strstr (err.text, "--keys"), "%s", err.text);

    //  The first broker with CURVE starts; a second one in the process cannot
    cr_assert_eq (s_start_curve (s_broker_secret (), &err), 0, "%s", err.text);
    zjob_test_broker_t second;
    snprintf (path, sizeof (path), "%s/broker.key_secret", s_dir);
    const char *options [][2] = { { "curve-secret", path }, { "keys", s_keys_dir () } };
    cr_assert_eq (zjob_test_broker_start_with (&second, "memory:", NULL, options, 2, &err), -1);
    cr_assert_eq (err.code, ZJOB_UNAVAILABLE);
    cr_assert_not_null (strstr (err.text, "ZAP endpoint"), "%s", err.text);
    //  A broker without CURVE is not affected
    cr_assert_eq (zjob_test_broker_start (&second, "memory:", NULL, &err), 0, "%s", err.text);
    zsock_t *client = zjob_test_dealer (second.clients);
    zjob_msg_t *reply = s_ping (client, 1, S_WAIT);
    cr_assert_not_null (reply);
    zjob_msg_destroy (&reply);
    zsock_destroy (&client);
    zjob_test_broker_stop (&second);
    zcert_destroy (&alice);
}

Test (auth, broker_without_curve_only_loopback_unless_insecure)
{
    zjob_error_t err;
    const char *open [][2] = { { "events", "tcp://0.0.0.0:*" } };
    cr_assert_eq (zjob_test_broker_start_with (&s_broker, "memory:", NULL, open, 1, &err), -1);
    cr_assert_eq (err.code, ZJOB_BAD_REQUEST);
    cr_assert_not_null (strstr (err.text, "refusing to bind tcp://0.0.0.0:* without CURVE"), "%s",
                        err.text);
    //  --insecure: it binds all interfaces (this test then talks to it
    //  over 127.0.0.1 only)
    const char *insecure [][2] = { { "clients", "tcp://0.0.0.0:*" }, { "insecure", "true" } };
    cr_assert_eq (zjob_test_broker_start_with (&s_broker, "memory:", NULL, insecure, 2, &err), 0,
                  "%s", err.text);
    const char *port = strrchr (s_broker.clients, ':');
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1%s", port);
    zsock_t *client = zjob_test_dealer (endpoint);
    zjob_msg_t *reply = s_ping (client, 1, S_WAIT);
    cr_assert_not_null (reply);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zsock_destroy (&client);
}


//  --------------------------------------------------------------------------
//  zjobd: the loopback rule, --insecure, SIGHUP

//  Run zjobd with the NULL-ended arguments after its store and log level,
//  its stderr to DIR/zjobd.log; returns its stdout
static int
s_zjobd (const char *first, ...)
{
    char *argv [32];
    size_t argc = 0;
    argv [argc++] = (char *) ZJOB_BIN_DIR "/zjobd";
    argv [argc++] = (char *) "--store";
    argv [argc++] = (char *) "memory:";
    argv [argc++] = (char *) "--log-level";
    argv [argc++] = (char *) "error";
    va_list args;
    va_start (args, first);
    for (const char *arg = first; arg && argc < 31; arg = va_arg (args, const char *))
        argv [argc++] = (char *) arg;
    va_end (args);
    argv [argc] = NULL;
    char log [1024];
    snprintf (log, sizeof (log), "%s/zjobd.log", s_dir);
    int out = -1;
    s_daemon = zjob_test_spawn_with (argv, &out, log);
    cr_assert_gt (s_daemon, 0);
    return out;
}

//  What zjobd wrote on stderr
static char *
s_zjobd_stderr (void)
{
    char path [1024];
    snprintf (path, sizeof (path), "%s/zjobd.log", s_dir);
    FILE *file = fopen (path, "r");
    cr_assert_not_null (file);
    static char text [4096];
    size_t size = fread (text, 1, sizeof (text) - 1, file);
    text [size] = 0;
    fclose (file);
    return text;
}

//  The clients endpoint from zjobd's ready line on out
static void
s_ready_line (int out, char *clients, size_t size)
{
    char *line = zjob_test_read_line (out, S_WAIT);
    cr_assert_not_null (line, "zjobd printed no ready line: %s", s_zjobd_stderr ());
    char endpoint [256];
    cr_assert_eq (sscanf (line, "zjobd ready clients=%255s", endpoint), 1, "%s", line);
    snprintf (clients, size, "%s", endpoint);
    free (line);
}

Test (auth, zjobd_refuses_an_open_endpoint_without_curve_or_insecure)
{
    int out = s_zjobd ("--clients", "tcp://0.0.0.0:5570", "--workers", "tcp://127.0.0.1:*",
                       "--events", "tcp://127.0.0.1:*", NULL);
    int status = zjob_test_wait_exit (s_daemon, S_WAIT);
    s_daemon = 0;
    close (out);
    cr_assert_eq (status, 2);
    cr_assert_not_null (strstr (s_zjobd_stderr (),
                                "zjobd: refusing to bind tcp://0.0.0.0:5570 without CURVE: anyone "
                                "who can reach it could submit, cancel and delete jobs or pose "
                                "as a worker; give --curve-secret and --keys, or --insecure\n"),
                        "%s", s_zjobd_stderr ());
    //  The two CURVE options go together
    out = s_zjobd ("--curve-secret", "/nonexistent", NULL);
    status = zjob_test_wait_exit (s_daemon, S_WAIT);
    s_daemon = 0;
    close (out);
    cr_assert_eq (status, 2);
    cr_assert_not_null (strstr (s_zjobd_stderr (), "--curve-secret without --keys"), "%s",
                        s_zjobd_stderr ());
}

Test (auth, zjobd_insecure_binds_all_interfaces)
{
    //  Bound on every interface; this test speaks to it over 127.0.0.1
    //  only, so nothing leaves the host
    int out = s_zjobd ("--clients", "tcp://0.0.0.0:*", "--workers", "tcp://127.0.0.1:*",
                       "--events", "tcp://127.0.0.1:*", "--insecure", NULL);
    char clients [256];
    s_ready_line (out, clients, sizeof (clients));
    cr_assert (strncmp (clients, "tcp://0.0.0.0:", 14) == 0, "%s", clients);
    char endpoint [300];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%s", clients + 14);
    zsock_t *client = zjob_test_dealer (endpoint);
    zjob_msg_t *reply = s_ping (client, 1, S_WAIT);
    cr_assert_not_null (reply);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    zsock_destroy (&client);
    kill (s_daemon, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (s_daemon, S_WAIT), 0);
    s_daemon = 0;
    close (out);
}

Test (auth, zjobd_sighup_reloads_the_keys)
{
    zcert_t *alice = s_key ("client", "alice.key", NULL, NULL);
    int out = s_zjobd ("--clients", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*",
                       "--events", "tcp://127.0.0.1:*", "--curve-secret", s_broker_secret (),
                       "--keys", s_keys_dir (), NULL);
    char clients [256];
    s_ready_line (out, clients, sizeof (clients));
    zsock_t *monitor;
    zsock_t *client = s_dealer (clients, alice, &monitor);
    zjob_msg_t *reply = s_ping (client, 1, S_WAIT);
    cr_assert_not_null (reply);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);

    s_remove ("client", "alice.key");
    kill (s_daemon, SIGHUP);
    //  The signal is handled when zjobd gets to it: ask until refused
    int64_t deadline = zclock_mono () + S_WAIT;
    int code = ZJOB_OK;
    for (uint64_t id = 2; code == ZJOB_OK && zclock_mono () < deadline; id++) {
        reply = s_ping (client, id, S_WAIT);
        cr_assert_not_null (reply);
        zjob_error_t err;
        code = zjob_msg_error (reply, &err);
        if (code != ZJOB_OK)
            cr_assert_str_eq (err.text, "key no longer accepted");
        zjob_msg_destroy (&reply);
    }
    cr_assert_eq (code, ZJOB_UNAUTHORIZED);
    zsock_destroy (&client);
    zsock_destroy (&monitor);
    kill (s_daemon, SIGTERM);
    cr_assert_eq (zjob_test_wait_exit (s_daemon, S_WAIT), 0);
    s_daemon = 0;
    close (out);
    zcert_destroy (&alice);
}

Test (auth, broker_a_revoked_worker_is_dead_after_its_liveness_heartbeats_or_not)
{
    zcert_t *admin = s_key ("admin", "root.key", NULL, NULL);
    zcert_t *worker_cert = s_key ("worker", "w.key", NULL, NULL);
    zjob_error_t err;
    cr_assert_eq (s_start_curve (s_broker_secret (), &err), 0, "%s", err.text);
    zsock_t *monitor, *worker_monitor;
    zsock_t *client = s_dealer (s_broker.clients, admin, &monitor);
    zsock_t *worker = s_dealer (s_broker.workers, worker_cert, &worker_monitor);
    const char *workflow = "resize";
    zjob_msg_t *reply = s_ready (worker, "w1", &workflow, 1);
    cr_assert_eq (zjob_msg_command (reply), ZJOB_CMD_OK);
    zjob_msg_destroy (&reply);
    char *id = zjob_test_submit (client, "resize", NULL, NULL);
    cr_assert_not_null (id);
    zjob_msg_t *job = zjob_test_expect (worker, ZJOB_ROUTE_BROKER_WORKER, ZJOB_CMD_JOB, S_WAIT);
    cr_assert_not_null (job, "the worker is given the job");
    zjob_msg_destroy (&job);

    s_remove ("worker", "w.key");
    s_reload ();
    //  It goes on heartbeating (every 50 ms, the broker's is 100 ms, 3
    //  missed make it dead): no sign of life from a revoked key, so its
    //  job is queued again
    zframe_t *heartbeat = zjob_msg_empty_new (ZJOB_CMD_HEARTBEAT, 0);
    int64_t deadline = zclock_mono () + S_WAIT;
    int status = ZJOB_RUNNING;
    while (status != ZJOB_QUEUED && zclock_mono () < deadline) {
        zframe_t *copy = zframe_dup (heartbeat);
        cr_assert_eq (zjob_test_send (worker, &copy), 0);
        zjob_msg_t *answer = zjob_test_recv (worker, ZJOB_ROUTE_BROKER_WORKER, 50);
        if (answer)
            cr_assert_neq (zjob_msg_command (answer), ZJOB_CMD_ERROR,
                           "a heartbeat is not answered, even with 401");
        zjob_msg_destroy (&answer);
        zjob_job_t *got = zjob_test_get (client, id);
        cr_assert_not_null (got);
        status = (int) zjob_job_status (got);
        zjob_job_destroy (&got);
    }
    cr_assert_eq (status, ZJOB_QUEUED, "status %d", status);
    zframe_destroy (&heartbeat);
    free (id);
    zsock_destroy (&client);
    zsock_destroy (&monitor);
    zsock_destroy (&worker);
    zsock_destroy (&worker_monitor);
    zcert_destroy (&admin);
    zcert_destroy (&worker_cert);
}
