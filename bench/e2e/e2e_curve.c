/*  =========================================================================
    e2e_curve - bench_e2e: the keys of the CURVE scenarios

    With --curve, zjobd runs as a broker with CURVE is deployed
    (--curve-secret, --keys DIR) and every peer connects with a key of its
    role: the producers with a client key (user "bench", so each SUBMIT
    also pays for the user forced on its specs), the workers with a worker
    key limited to the workflow "bench" (their READY is checked against
    it). STATS is admin only, so the producers' check after a run, which
    is outside the figures, connects again with an admin key.

    The keys are made once per run, in the parent, before any child is
    forked, as `zjob keygen` makes them: zcert, whose public halves go
    under DIR/admin, DIR/client and DIR/worker, the secret ones beside
    DIR, mode 0600. zcert draws its keys from libsodium through
    zmq_curve_keypair and writes ZPL files: it creates no ZeroMQ context,
    so the parent still never has one to pass on through fork.
    ========================================================================= */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "e2e.h"

#define S_USER "bench"      //  the producers' key's user_id
#define S_WORKFLOW "bench"  //  the workflow the workers' key may serve

//  What e2e_curve_keys made; copied into each child by fork. s_root is
//  short enough (checked) for the paths under it to fit in S_PATH_MAX.
#define S_PATH_MAX (E2E_PATH_MAX + 64)
static char s_root [E2E_PATH_MAX];                    //  dir/curve
static char s_keys [S_PATH_MAX];                      //  dir/curve/keys: zjobd --keys
static char s_broker [S_PATH_MAX];                    //  dir/curve/broker.key, public
static char s_secret [S_PATH_MAX];                    //  dir/curve/broker.key_secret
static char s_certs [E2E_KEY_ADMIN + 1][S_PATH_MAX];  //  each peer's NAME.key_secret

//  Per e2e_key_t: the key's name, the directory of its role and the
//  metadata the broker reads from it
static const struct {
    const char *name;
    const char *role;
    const char *meta;  //  "user_id", "workflows" or NULL
    const char *value;
} s_peers [] = {
    { "producer", "client", "user_id", S_USER },
    { "worker", "worker", "workflows", S_WORKFLOW },
    { "admin", "admin", NULL, NULL },
};

//  mkdir that accepts a directory already there; 0 or -1 with why filled
static int
s_mkdir (const char *path, char *why, size_t size)
{
    if (mkdir (path, 0700) == 0 || errno == EEXIST)
        return 0;
    snprintf (why, size, "cannot make %s: %s", path, strerror (errno));
    return -1;
}

//  Make one peer's pair: its public half in its role's directory, its
//  secret one under s_root. 0 or -1 with why filled.
static int
s_peer_key (size_t peer, char *why, size_t size)
{
    char dir [S_PATH_MAX + 16], public_path [S_PATH_MAX + 48];
    snprintf (dir, sizeof dir, "%s/%s", s_keys, s_peers [peer].role);
    if (s_mkdir (dir, why, size))
        return -1;
    snprintf (public_path, sizeof public_path, "%s/%s.key", dir, s_peers [peer].name);
    snprintf (s_certs [peer], sizeof s_certs [peer], "%s/%s.key_secret", s_root,
              s_peers [peer].name);
    zcert_t *cert = zcert_new ();
    if (!cert) {
        snprintf (why, size, "zcert_new failed (no CURVE in libzmq?)");
        return -1;
    }
    if (s_peers [peer].meta)
        zcert_set_meta (cert, s_peers [peer].meta, "%s", s_peers [peer].value);
    int rc = zcert_save_public (cert, public_path) || zcert_save_secret (cert, s_certs [peer]);
    zcert_destroy (&cert);
    if (rc) {
        snprintf (why, size, "cannot write the %s key under %s", s_peers [peer].name, s_root);
        return -1;
    }
    return 0;
}

int
e2e_curve_keys (const char *dir, char *why, size_t size)
{
    if (snprintf (s_root, sizeof s_root, "%s/curve", dir) >= (int) sizeof s_root) {
        snprintf (why, size, "%s: the path is too long", dir);
        return -1;
    }
    snprintf (s_keys, sizeof s_keys, "%s/keys", s_root);
    snprintf (s_broker, sizeof s_broker, "%s/broker.key", s_root);
    snprintf (s_secret, sizeof s_secret, "%s/broker.key_secret", s_root);
    if (s_mkdir (s_root, why, size) || s_mkdir (s_keys, why, size))
        return -1;
    zcert_t *broker = zcert_new ();
    //  zcert_save writes NAME and NAME_secret
    if (!broker || zcert_save (broker, s_broker)) {
        zcert_destroy (&broker);
        snprintf (why, size, "cannot make the broker's certificate %s", s_broker);
        return -1;
    }
    zcert_destroy (&broker);
    for (size_t peer = 0; peer < sizeof s_peers / sizeof s_peers [0]; peer++)
        if (s_peer_key (peer, why, size))
            return -1;
    return 0;
}

const char *
e2e_curve_broker_secret (void)
{
    return s_secret;
}

const char *
e2e_curve_keys_dir (void)
{
    return s_keys;
}

zjob_connect_opts_t
e2e_curve_opts (e2e_key_t key)
{
    zjob_connect_opts_t opts = { s_certs [key], s_broker };
    return opts;
}
