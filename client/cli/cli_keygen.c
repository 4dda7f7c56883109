/*  =========================================================================
    cli_keygen - zjob keygen: a CURVE key pair for a broker's peer

    A broker with CURVE (zjobd --curve-secret --keys DIR) accepts the
    peers whose public certificates its key lists hold: DIR/admin/,
    DIR/client/ and DIR/worker/. keygen makes one key pair as CZMQ's zcert
    writes it, the format the broker reads with zcert_load: NAME.key, the
    public half, which goes into one of those directories (its role), and
    NAME.key_secret, both keys, which stays with the peer (--cert) and is
    written mode 0600. The metadata the broker reads travel in both files:
    user_id (a client key's user) and workflows (what a worker key may
    serve). Both files are read back before keygen says it is done, so a
    value the certificate format cannot hold is an error here, not a
    surprise at the broker. An existing pair is never overwritten without
    --force: its public half may be listed somewhere, and a new pair would
    lock that peer out.
    ========================================================================= */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_commands.h"
#include "cli_output.h"

#define S_PATH_MAX 4096  //  bytes of a key file's path

typedef struct {
    const char *name;       //  NAME
    const char *dir;        //  --dir, "." by default
    const char *user;       //  --user, or NULL
    const char *workflows;  //  --workflows, or NULL
    bool force;             //  --force
} s_keygen_t;

//  A key name: a name that is a plain file name, and no ignored one
//  (the broker skips files starting with '.' or ending with _secret)
static bool
s_key_name_valid (const char *name)
{
    size_t length = strlen (name);
    return zjob_name_valid (name) && !strchr (name, '/') && name [0] != '.'
        && !(length >= 7 && streq (name + length - 7, "_secret"));
}

//  "*" or a comma list of workflow names
static bool
s_workflows_valid (const char *text)
{
    if (streq (text, "*"))
        return true;
    char copy [S_PATH_MAX];
    if (!*text || strlen (text) >= sizeof copy)
        return false;
    snprintf (copy, sizeof copy, "%s", text);
    char *save = NULL;
    size_t count = 0;
    for (char *item = strtok_r (copy, ",", &save); item; item = strtok_r (NULL, ",", &save))
        if (!zjob_name_valid (item) || ++count > ZJOB_WORKFLOWS_MAX)
            return false;
    return count > 0 && text [strlen (text) - 1] != ',' && !strstr (text, ",,")
        && text [0] != ',';
}

static int
s_parse (zjob_cli_t *cli, int argc, char *argv [], s_keygen_t *keygen)
{
    static const struct option options [] = { { "dir", required_argument, NULL, 'd' },
                                              { "user", required_argument, NULL, 'u' },
                                              { "workflows", required_argument, NULL, 'w' },
                                              { "force", no_argument, NULL, 'f' },
                                              ZJOB_CLI_COMMON_OPTIONS };
    memset (keygen, 0, sizeof *keygen);
    keygen->dir = ".";
    zjob_cli_getopt_reset ();
    int opt, rc;
    while ((opt = zjob_cli_getopt (cli, argc, argv, "d:u:w:f", options, &rc)) != -1) {
        if (opt == 'd')
            keygen->dir = optarg;
        else if (opt == 'u')
            keygen->user = optarg;
        else if (opt == 'w')
            keygen->workflows = optarg;
        else if (opt == 'f')
            keygen->force = true;
        else
            return zjob_cli_getopt_end (cli, opt, rc);
    }
    if (argc - optind != 1)
        return zjob_cli_usage (cli, argc - optind ? "one NAME at a time" : "no NAME given");
    keygen->name = argv [optind];
    if (!s_key_name_valid (keygen->name))
        return zjob_cli_bad_value (cli, "'%.80s' is not a key name: 1 to %d printable "
                                        "characters, no space or '/', not starting with '.' "
                                        "nor ending with _secret",
                                   keygen->name, ZJOB_NAME_MAX);
    if (!*keygen->dir)
        return zjob_cli_bad_value (cli, "--dir: empty");
    if (keygen->user && !zjob_name_valid (keygen->user))
        return zjob_cli_bad_value (cli, "--user: '%.80s' is not a user id (1 to %d printable "
                                        "characters, no space)",
                                   keygen->user, ZJOB_NAME_MAX);
    if (keygen->workflows && !s_workflows_valid (keygen->workflows))
        return zjob_cli_bad_value (cli, "--workflows: '%.80s' is not a list of workflows "
                                        "(a,b,c; or * for any)",
                                   keygen->workflows);
    return ZJOB_CLI_CONTINUE;
}

//  The directory exists (made, with its missing parents, mode 0700, if it
//  did not: `--dir keys/client` on a fresh machine). 0, or an exit code.
static int
s_dir_ready (zjob_cli_t *cli, const char *dir)
{
    struct stat info;
    if (stat (dir, &info) == 0 && S_ISDIR (info.st_mode))
        return 0;
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s", dir);
    for (char *slash = strchr (path + 1, '/'); slash; slash = strchr (slash + 1, '/')) {
        *slash = 0;
        if (mkdir (path, 0700) && errno != EEXIST)
            break;  //  The last mkdir says why
        *slash = '/';
    }
    if (mkdir (dir, 0700) == 0)
        return 0;
    zjob_cli_error (cli, "--dir: cannot make the directory %s: %s", dir, strerror (errno));
    return ZJOB_EXIT_BAD_INPUT;
}

//  True if the certificate at path holds what keygen wrote
static bool
s_reads_back (const char *path, zcert_t *cert, const s_keygen_t *keygen)
{
    zcert_t *loaded = zcert_load (path);
    bool same = loaded && streq (zcert_public_txt (loaded), zcert_public_txt (cert));
    const char *user = loaded ? zcert_meta (loaded, "user_id") : NULL;
    const char *workflows = loaded ? zcert_meta (loaded, "workflows") : NULL;
    same = same && (keygen->user ? user && streq (user, keygen->user) : !user);
    same = same
        && (keygen->workflows ? workflows && streq (workflows, keygen->workflows) : !workflows);
    zcert_destroy (&loaded);
    return same;
}

//  Write the pair; 0, or an exit code after a message
static int
s_write (zjob_cli_t *cli, const s_keygen_t *keygen, zcert_t *cert, const char *public_path,
         const char *secret_path)
{
    if (keygen->force) {
        unlink (public_path);
        unlink (secret_path);
    }
    if (keygen->user)
        zcert_set_meta (cert, "user_id", "%s", keygen->user);
    if (keygen->workflows)
        zcert_set_meta (cert, "workflows", "%s", keygen->workflows);
    //  zcert_save writes public_path and public_path + "_secret"
    if (zcert_save (cert, public_path) != 0 || chmod (secret_path, 0600) != 0) {
        int error = errno;
        unlink (public_path);
        unlink (secret_path);
        zjob_cli_error (cli, "cannot write %s: %s", access (public_path, F_OK) ? secret_path : public_path,
                        strerror (error));
        return ZJOB_EXIT_BAD_INPUT;
    }
    if (!s_reads_back (public_path, cert, keygen) || !s_reads_back (secret_path, cert, keygen)) {
        unlink (public_path);
        unlink (secret_path);
        zjob_cli_error (cli, "the certificate cannot hold these values (--user, --workflows): "
                             "they did not read back the same");
        return ZJOB_EXIT_BAD_INPUT;
    }
    return 0;
}

static void
s_report (zjob_cli_t *cli, const s_keygen_t *keygen, zcert_t *cert, const char *public_path,
          const char *secret_path)
{
    if (cli->json) {
        json_t *object = json_pack ("{s:s, s:s, s:s, s:s}", "name", keygen->name, "public_key",
                                    zcert_public_txt (cert), "public_file", public_path,
                                    "secret_file", secret_path);
        if (keygen->user)
            json_object_set_new (object, "user_id", json_string (keygen->user));
        if (keygen->workflows)
            json_object_set_new (object, "workflows", json_string (keygen->workflows));
        zjob_cli_print_json (object, false);
        json_decref (object);
        return;
    }
    printf ("public key: %s\n", zcert_public_txt (cert));
    printf ("%s: copy it into the broker's keys directory, under admin/, client/ or "
            "worker/ (the key's role)\n",
            public_path);
    printf ("%s: stays with the peer, mode 0600; it gives it with --cert (or ZJOB_CERT)\n",
            secret_path);
}

int
zjob_cli_cmd_keygen (zjob_cli_t *cli, int argc, char *argv [])
{
    s_keygen_t keygen;
    int rc = s_parse (cli, argc, argv, &keygen);
    if (rc != ZJOB_CLI_CONTINUE)
        return rc;
    char public_path [S_PATH_MAX], secret_path [S_PATH_MAX + 8];
    if (snprintf (public_path, sizeof public_path, "%s/%s.key", keygen.dir, keygen.name)
        >= (int) sizeof public_path)
        return zjob_cli_bad_value (cli, "--dir: the path is too long");
    snprintf (secret_path, sizeof secret_path, "%s_secret", public_path);
    if (!keygen.force) {
        const char *taken = NULL;
        if (access (public_path, F_OK) == 0)
            taken = public_path;
        else if (access (secret_path, F_OK) == 0)
            taken = secret_path;
        if (taken) {
            zjob_cli_error (cli, "%s exists: give --force to replace the pair (a broker that "
                                 "lists the old public key will refuse the new one)",
                            taken);
            return ZJOB_EXIT_CONFLICT;
        }
    }
    if ((rc = s_dir_ready (cli, keygen.dir)))
        return rc;
    zcert_t *cert = zcert_new ();
    if (!cert) {
        zjob_cli_error (cli, "cannot make a key pair (out of memory, or no CURVE in libzmq)");
        return ZJOB_EXIT_INTERNAL;
    }
    rc = s_write (cli, &keygen, cert, public_path, secret_path);
    if (rc == 0)
        s_report (cli, &keygen, cert, public_path, secret_path);
    zcert_destroy (&cert);
    return rc;
}
