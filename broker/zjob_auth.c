/*  =========================================================================
    zjob_auth - the broker's key lists and its ZAP handler (CURVE)

    See zjob_auth.h. The lists are one hash, public key (Z85, as the ZAP
    handler hands it to libzmq and libzmq hands it back on every message)
    to the key's record, so that the per-message lookup is one hash probe.
    A reload builds a complete new hash and swaps it in only if every file
    was good: a typo in one certificate never empties the broker's lists.

    Certificates are read as ZPL (zconfig: what zcert_save_public
    writes), not with zcert_load: zcert_load would also read a NAME.key_secret
    lying beside the file, and turns a malformed key into a key of zeros
    instead of an error. Keys are decoded and encoded again, so a listed
    key is in the canonical Z85 that the ZAP handler compares.

    The ZAP socket is a ROUTER, not a REP: a REP that missed a reply (a
    send that fails) would be stuck in its state machine, a ROUTER never
    is. A request is [routing id][empty][version][request id][domain]
    [address][identity][mechanism][credentials...] (RFC 27); one that is
    malformed is dropped and logged, it cannot come from libzmq.
    ========================================================================= */

#include "zjob_auth.h"
#include "zjob_log.h"
#include "zjob_config.h"
#include "zjob_job_impl.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

//  One listed key
typedef struct {
    zjob_peer_t peer;                  //  What the broker's handlers see
    char key [ZJOB_AUTH_KEY_LEN + 1];  //  Z85, canonical
    char *path;                        //  The file it came from, for errors
    char *name;                        //  The file's name without ".key"
    char *user_id;                     //  A client key's user, else NULL
    char *workflows;                   //  A worker key's "a,b", NULL for any
} s_entry_t;

//  A complete set of lists, as read from the directory at one time
typedef struct {
    zhashx_t *entries;                     //  key -> s_entry_t (owned)
    size_t counts [ZJOB_ROLE_WORKER + 1];  //  keys per role
} s_lists_t;

struct _zjob_auth_t {
    char *keys_dir;       //  The directory the lists are read from
    int log_level;        //  zjob_log_level_t
    s_lists_t *lists;     //  The current lists
    zsock_t *zap;         //  The ZAP ROUTER, once bound
    bool bound;           //  zap is bound to ZJOB_AUTH_ENDPOINT
    s_entry_t *internal;  //  The broker's own admin key (zjob_http), or NULL
};

#define s_log_warning(self, ...) \
    ZJOB_LOG_IF ((self)->log_level, ZJOB_LOG_WARNING, __VA_ARGS__)
#define s_log_debug(self, ...) \
    ZJOB_LOG_IF ((self)->log_level, ZJOB_LOG_DEBUG, __VA_ARGS__)

static const char *s_role_dirs [] = { "admin", "client", "worker" };


//  --------------------------------------------------------------------------
//  The lists

static void
s_entry_destroy (void **item_p)
{
    s_entry_t *entry = (s_entry_t *) *item_p;
    if (entry) {
        free (entry->path);
        free (entry->name);
        free (entry->user_id);
        free (entry->workflows);
        free (entry);
        *item_p = NULL;
    }
}

static void
s_lists_destroy (s_lists_t **lists_p)
{
    if (*lists_p) {
        zhashx_destroy (&(*lists_p)->entries);
        free (*lists_p);
        *lists_p = NULL;
    }
}

static s_lists_t *
s_lists_new (void)
{
    s_lists_t *lists = (s_lists_t *) calloc (1, sizeof (s_lists_t));
    if (lists && !(lists->entries = zhashx_new ()))
        s_lists_destroy (&lists);
    if (lists)
        zhashx_set_destructor (lists->entries, s_entry_destroy);
    return lists;
}

//  A workflows list: "*" is any (NULL); else 1 or more workflow ids,
//  comma-separated. 0, or -1 with err filled.
static int
s_check_workflows (const char *path, const char *workflows, zjob_error_t *err)
{
    const char *cursor = workflows;
    do {
        size_t len = strcspn (cursor, ",");
        char workflow [ZJOB_NAME_MAX + 1];
        snprintf (workflow, sizeof (workflow), "%.*s", (int) len, cursor);
        if (len == 0 || len > ZJOB_NAME_MAX || !zjob_name_valid (workflow))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "%s: workflows: '%.*s' is not a workflow id (a comma "
                                   "list, or * for any)",
                                   path, (int) (len > 64 ? 64 : len), cursor);
        cursor += len;
    } while (*cursor++ == ',');
    return 0;
}

//  Fill entry's metadata for role from the certificate root. 0, or -1
static int
s_entry_meta (s_entry_t *entry, zjob_role_t role, zconfig_t *root, zjob_error_t *err)
{
    if (role == ZJOB_ROLE_CLIENT) {
        const char *user = zconfig_get (root, "/metadata/user_id", NULL);
        if (!user)
            user = entry->name;
        if (strlen (user) > ZJOB_NAME_MAX || !zjob_name_valid (user))
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "%s: user_id '%.64s' is not a user id (1..%d printable "
                                   "characters, no spaces)",
                                   entry->path, user, ZJOB_NAME_MAX);
        entry->user_id = strdup (user);
        if (!entry->user_id)
            return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    if (role == ZJOB_ROLE_WORKER) {
        const char *workflows = zconfig_get (root, "/metadata/workflows", NULL);
        if (workflows && !streq (workflows, "*")) {
            if (s_check_workflows (entry->path, workflows, err))
                return -1;
            entry->workflows = strdup (workflows);
            if (!entry->workflows)
                return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        }
    }
    entry->peer.role = role;
    entry->peer.name = entry->name;
    entry->peer.user_id = entry->user_id;
    entry->peer.workflows = entry->workflows;
    entry->peer.key = entry->key;
    return 0;
}

//  Read the public key of a parsed certificate into entry->key, canonical
static int
s_entry_key (s_entry_t *entry, zconfig_t *root, zjob_error_t *err)
{
    const char *text = zconfig_get (root, "/curve/public-key", NULL);
    uint8_t key [32];
    if (!text || strlen (text) != ZJOB_AUTH_KEY_LEN || !zmq_z85_decode (key, text)
        || !zmq_z85_encode (entry->key, key, sizeof (key)))
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "%s: not a certificate (no curve/public-key of %d Z85 "
                               "characters)",
                               entry->path, ZJOB_AUTH_KEY_LEN);
    return 0;
}

//  The text of the file at path, of size bytes at most (a fresh string),
//  or NULL. (zconfig_load would do, but leaks when the text is not ZPL.)
static char *
s_read_text (const char *path, size_t size)
{
    FILE *file = fopen (path, "r");
    char *text = file ? (char *) malloc (size + 1) : NULL;
    if (text)
        text [fread (text, 1, size, file)] = 0;
    if (file)
        fclose (file);
    return text;
}

//  Read the certificate file at path, of role, into lists. 0, or -1
static int
s_load_file (s_lists_t *lists, zjob_role_t role, const char *path, const char *file_name,
             zjob_error_t *err)
{
    struct stat info;
    if (stat (path, &info) || !S_ISREG (info.st_mode))
        return 0;  //  Gone meanwhile, or a directory: not a key file
    if (info.st_size > ZJOB_AUTH_FILE_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: over %d bytes: not a certificate",
                               path, ZJOB_AUTH_FILE_MAX);
    s_entry_t *entry = (s_entry_t *) calloc (1, sizeof (s_entry_t));
    if (!entry || !(entry->path = strdup (path)) || !(entry->name = strdup (file_name))) {
        s_entry_destroy ((void **) &entry);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    size_t len = strlen (entry->name);
    if (len > 4 && streq (entry->name + len - 4, ".key"))
        entry->name [len - 4] = 0;
    char *text = s_read_text (path, (size_t) info.st_size);
    zconfig_t *root = text ? zconfig_str_load (text) : NULL;
    free (text);
    int rc = root ? s_entry_key (entry, root, err)
                  : zjob_error_set (err, ZJOB_BAD_REQUEST,
                                    "%s: not a certificate (cannot read it as ZPL)", path);
    if (rc == 0)
        rc = s_entry_meta (entry, role, root, err);
    zconfig_destroy (&root);
    s_entry_t *twin = rc ? NULL : (s_entry_t *) zhashx_lookup (lists->entries, entry->key);
    if (twin)
        rc = zjob_error_set (err, ZJOB_BAD_REQUEST, "key %s is listed twice: in %s and in %s",
                             entry->key, twin->path, entry->path);
    if (rc == 0 && zhashx_insert (lists->entries, entry->key, entry))
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    if (rc) {
        s_entry_destroy ((void **) &entry);
        return -1;
    }
    lists->counts [role]++;
    return 0;
}

static int
s_compare_names (const void *one, const void *two)
{
    return strcmp (*(char *const *) one, *(char *const *) two);
}

//  The names in directory path worth reading (not ".x", not "x_secret"),
//  sorted, so that errors name the same files on every run. NULL-ended
//  array the caller frees (each name, then the array); *missing set and
//  NULL returned when the directory does not exist. NULL with err filled
//  on error.
static char **
s_dir_names (const char *path, bool *missing, zjob_error_t *err)
{
    *missing = false;
    DIR *dir = opendir (path);
    if (!dir) {
        if (errno == ENOENT)
            *missing = true;
        else
            zjob_error_set (err, ZJOB_BAD_REQUEST, "%s: %s", path, strerror (errno));
        return NULL;
    }
    size_t count = 0, room = 16;
    char **names = (char **) calloc (room + 1, sizeof (char *));
    if (!names) {
        closedir (dir);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    struct dirent *item = NULL;
    while ((item = readdir (dir))) {
        size_t len = strlen (item->d_name);
        if (item->d_name [0] == '.' || (len >= 7 && streq (item->d_name + len - 7, "_secret")))
            continue;
        if (count == room) {
            char **more = (char **) realloc (names, (2 * room + 1) * sizeof (char *));
            if (!more)
                break;
            names = more;
            room *= 2;
        }
        names [count] = strdup (item->d_name);
        if (!names [count])
            break;
        names [++count] = NULL;
    }
    bool complete = !item;
    closedir (dir);
    if (!complete) {
        for (size_t index = 0; index < count; index++)
            free (names [index]);
        free (names);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    qsort (names, count, sizeof (char *), s_compare_names);
    return names;
}

//  Read every role's directory under keys_dir. The lists, or NULL with
//  err filled.
static s_lists_t *
s_lists_load (const char *keys_dir, zjob_error_t *err)
{
    struct stat info;
    bool failed = stat (keys_dir, &info) != 0;
    if (failed || !S_ISDIR (info.st_mode)) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "keys directory %s: %s", keys_dir,
                        failed ? strerror (errno) : "not a directory");
        return NULL;
    }
    s_lists_t *lists = s_lists_new ();
    if (!lists) {
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    int rc = 0;
    for (int role = ZJOB_ROLE_ADMIN; rc == 0 && role <= ZJOB_ROLE_WORKER; role++) {
        char dir [ZJOB_BROKER_PATH_MAX + 16];
        snprintf (dir, sizeof (dir), "%s/%s", keys_dir, s_role_dirs [role]);
        bool missing;
        char **names = s_dir_names (dir, &missing, err);
        if (!names) {
            rc = missing ? 0 : -1;  //  A missing role is an empty one
            continue;
        }
        for (size_t index = 0; rc == 0 && names [index]; index++) {
            char path [ZJOB_BROKER_PATH_MAX + 300];
            snprintf (path, sizeof (path), "%s/%s", dir, names [index]);
            rc = s_load_file (lists, (zjob_role_t) role, path, names [index], err);
        }
        for (size_t index = 0; names [index]; index++)
            free (names [index]);
        free (names);
    }
    if (rc)
        s_lists_destroy (&lists);
    return lists;
}


//  --------------------------------------------------------------------------
//  The class

zjob_auth_t *
zjob_auth_new (const char *keys_dir, int log_level, zjob_error_t *err)
{
    if (!keys_dir || !*keys_dir || strlen (keys_dir) >= ZJOB_BROKER_PATH_MAX) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "keys: a directory path of 1..%d bytes",
                        ZJOB_BROKER_PATH_MAX - 1);
        return NULL;
    }
    zjob_auth_t *self = (zjob_auth_t *) calloc (1, sizeof (zjob_auth_t));
    if (!self || !(self->keys_dir = strdup (keys_dir))) {
        free (self);
        zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
        return NULL;
    }
    self->log_level = log_level;
    self->lists = s_lists_load (keys_dir, err);
    if (!self->lists)
        zjob_auth_destroy (&self);
    return self;
}

void
zjob_auth_destroy (zjob_auth_t **self_p)
{
    assert (self_p);
    zjob_auth_t *self = *self_p;
    if (!self)
        return;
    //  An inproc endpoint is released when the socket is reaped, which is
    //  later: unbind it now, so that the next broker can bind it at once
    if (self->bound)
        zmq_unbind (zsock_resolve (self->zap), ZJOB_AUTH_ENDPOINT);
    zsock_destroy (&self->zap);
    s_lists_destroy (&self->lists);
    s_entry_destroy ((void **) &self->internal);
    free (self->keys_dir);
    free (self);
    *self_p = NULL;
}

int
zjob_auth_reload (zjob_auth_t *self, zjob_error_t *err)
{
    assert (self);
    s_lists_t *lists = s_lists_load (self->keys_dir, err);
    if (!lists)
        return -1;
    s_lists_destroy (&self->lists);
    self->lists = lists;
    return 0;
}

//  The entry of key: the internal one, or one of the lists; NULL if none
static s_entry_t *
s_find (zjob_auth_t *self, const char *key)
{
    if (!key)
        return NULL;
    if (self->internal && streq (self->internal->key, key))
        return self->internal;
    return (s_entry_t *) zhashx_lookup (self->lists->entries, key);
}

const zjob_peer_t *
zjob_auth_lookup (void *self, const char *key)
{
    assert (self);
    s_entry_t *entry = s_find ((zjob_auth_t *) self, key);
    return entry ? &entry->peer : NULL;
}

int
zjob_auth_add_internal (zjob_auth_t *self, const char *name, const char *key, zjob_error_t *err)
{
    assert (self);
    if (!key || strlen (key) != ZJOB_AUTH_KEY_LEN || !name)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "an internal key is %d chars of Z85",
                               ZJOB_AUTH_KEY_LEN);
    s_entry_destroy ((void **) &self->internal);
    s_entry_t *entry = (s_entry_t *) calloc (1, sizeof (s_entry_t));
    if (!entry || !(entry->path = strdup ("(internal)")) || !(entry->name = strdup (name))) {
        s_entry_destroy ((void **) &entry);
        return zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    }
    memcpy (entry->key, key, ZJOB_AUTH_KEY_LEN + 1);
    entry->peer.role = ZJOB_ROLE_ADMIN;
    entry->peer.name = entry->name;
    entry->peer.key = entry->key;
    entry->peer.internal = true;
    self->internal = entry;
    return 0;
}

size_t
zjob_auth_count (zjob_auth_t *self, zjob_role_t role)
{
    assert (self);
    return role <= ZJOB_ROLE_WORKER ? self->lists->counts [role] : 0;
}

int
zjob_auth_bind (zjob_auth_t *self, zjob_error_t *err)
{
    assert (self);
    if (self->bound)
        return 0;
    if (!self->zap && !(self->zap = zsock_new (ZMQ_ROUTER)))
        return zjob_error_set (err, ZJOB_INTERNAL, "cannot create the ZAP socket");
    zsock_set_linger (self->zap, 0);
    if (zmq_bind (zsock_resolve (self->zap), ZJOB_AUTH_ENDPOINT) == -1) {
        int error = zmq_errno ();
        zsock_destroy (&self->zap);
        if (error == EADDRINUSE)
            return zjob_error_set (err, ZJOB_UNAVAILABLE,
                                   "the ZAP endpoint " ZJOB_AUTH_ENDPOINT " is taken: another "
                                   "broker with CURVE (or a zauth) runs in this process, and "
                                   "there can be only one");
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "cannot bind " ZJOB_AUTH_ENDPOINT ": %s",
                               zmq_strerror (error));
    }
    self->bound = true;
    return 0;
}

void *
zjob_auth_handle (zjob_auth_t *self)
{
    assert (self);
    return self->zap ? zsock_resolve (self->zap) : NULL;
}


//  --------------------------------------------------------------------------
//  ZAP

//  Frames of a request: routing id, delimiter, version, request id,
//  domain, address, identity, mechanism, and up to 2 credentials (PLAIN)
#define S_ZAP_FRAMES 10
#define S_ZAP_MIN 8  //  NULL has no credentials

enum {
    S_RID,         //  The requester's routing id (ours: a ROUTER)
    S_EMPTY,       //  The delimiter libzmq's ZAP client sends
    S_VERSION,     //  "1.0"
    S_REQUEST_ID,  //  Echoed in the reply
    S_DOMAIN,      //  The socket's ZMQ_ZAP_DOMAIN
    S_ADDRESS,     //  The peer's IP address
    S_IDENTITY,    //  The peer's routing id, unused
    S_MECHANISM,   //  "CURVE", or "NULL", "PLAIN"
    S_CREDENTIALS  //  CURVE: the 32-byte public key
};

static bool
s_frame_is (zmq_msg_t *frame, const char *text)
{
    size_t len = strlen (text);
    return zmq_msg_size (frame) == len && memcmp (zmq_msg_data (frame), text, len) == 0;
}

//  A frame as text into buffer (size bytes), cut to fit, for logs and
//  comparisons
static void
s_frame_text (zmq_msg_t *frame, char *buffer, size_t size)
{
    size_t len = zmq_msg_size (frame) < size ? zmq_msg_size (frame) : size - 1;
    memcpy (buffer, zmq_msg_data (frame), len);
    buffer [len] = 0;
}

//  Why a listed (or not: NULL) key may not use the socket of domain, or
//  NULL if it may
static const char *
s_refusal (const char *domain, const s_entry_t *entry)
{
    if (!entry)
        return "not listed";
    if (entry->peer.role == ZJOB_ROLE_ADMIN)
        return NULL;
    bool client = entry->peer.role == ZJOB_ROLE_CLIENT;
    if (streq (domain, "clients") || streq (domain, "events"))
        return client ? NULL : "a worker key";
    return client ? "a client key" : NULL;
}

//  Send the reply to a well-formed request: [rid][empty]["1.0"][request
//  id][status][text][user id][metadata]
static void
s_reply (zjob_auth_t *self, zmq_msg_t *frames, const char *status, const char *text,
         const char *user_id)
{
    void *handle = zsock_resolve (self->zap);
    int flags = ZMQ_SNDMORE | ZMQ_DONTWAIT;
    const char *texts [] = { "1.0", NULL, status, text, user_id };
    int rc = zmq_msg_send (&frames [S_RID], handle, flags) == -1 ? -1 : 0;
    rc = rc ? rc : zmq_send (handle, "", 0, flags);
    for (size_t index = 0; rc == 0 && index < sizeof (texts) / sizeof (texts [0]); index++)
        rc = (texts [index] ? zmq_send (handle, texts [index], strlen (texts [index]), flags)
                            : zmq_msg_send (&frames [S_REQUEST_ID], handle, flags))
            == -1;
    if (rc == 0)
        rc = zmq_send (handle, "", 0, ZMQ_DONTWAIT) == -1;  //  No metadata
    if (rc)
        s_log_warning (self, "zjob_auth: cannot answer a ZAP request: %s",
                       zmq_strerror (zmq_errno ()));
}

//  Answer one request of count frames
static void
s_answer (zjob_auth_t *self, zmq_msg_t *frames, size_t count)
{
    char domain [16], address [64], mechanism [16];
    s_frame_text (&frames [S_DOMAIN], domain, sizeof (domain));
    s_frame_text (&frames [S_ADDRESS], address, sizeof (address));
    s_frame_text (&frames [S_MECHANISM], mechanism, sizeof (mechanism));
    if (!streq (mechanism, "CURVE") || count != S_CREDENTIALS + 1
        || zmq_msg_size (&frames [S_CREDENTIALS]) != 32) {
        s_log_warning (self, "zjob_auth: refused %s on the %s socket: mechanism %s, not CURVE",
                       address, domain, mechanism);
        s_reply (self, frames, "400", "CURVE only", "");
        return;
    }
    char key [ZJOB_AUTH_KEY_LEN + 1];
    zmq_z85_encode (key, (const uint8_t *) zmq_msg_data (&frames [S_CREDENTIALS]), 32);
    bool known = streq (domain, "clients") || streq (domain, "workers")
        || streq (domain, "events");
    const char *refusal = known ? s_refusal (domain, s_find (self, key))
                                : "not a domain of the broker";
    if (refusal) {
        s_log_warning (self, "zjob_auth: refused %s key %s on the %s socket: %s", address, key,
                       domain, refusal);
        s_reply (self, frames, "400", refusal, "");
    }
    else {
        s_log_debug (self, "zjob_auth: accepted %s key %s on the %s socket", address, key,
                     domain);
        s_reply (self, frames, "200", "OK", key);
    }
}

//  Read one request, if any, and answer it. Returns 0 if one was read, -1
//  if none was waiting.
static int
s_serve_one (zjob_auth_t *self)
{
    void *handle = zsock_resolve (self->zap);
    zmq_msg_t frames [S_ZAP_FRAMES];
    size_t count = 0;
    bool more = true;
    zmq_msg_t extra;
    zmq_msg_init (&extra);
    while (more) {
        zmq_msg_t *frame = count < S_ZAP_FRAMES ? &frames [count] : &extra;
        if (frame != &extra)
            zmq_msg_init (frame);
        if (zmq_msg_recv (frame, handle, count ? 0 : ZMQ_DONTWAIT) == -1) {
            if (frame != &extra)
                zmq_msg_close (frame);
            break;
        }
        more = zmq_msg_more (frame);
        count++;
    }
    zmq_msg_close (&extra);
    int rc = count ? 0 : -1;
    if (count >= S_ZAP_MIN && count <= S_ZAP_FRAMES && !more
        && zmq_msg_size (&frames [S_EMPTY]) == 0 && s_frame_is (&frames [S_VERSION], "1.0"))
        s_answer (self, frames, count);
    else if (count)
        s_log_warning (self, "zjob_auth: dropped a malformed ZAP request (%zu frames)", count);
    for (size_t index = 0; index < count && index < S_ZAP_FRAMES; index++)
        zmq_msg_close (&frames [index]);
    return rc;
}

size_t
zjob_auth_serve (zjob_auth_t *self, size_t max)
{
    assert (self);
    if (!self->zap)
        return 0;
    size_t count = 0;
    while (count < max && s_serve_one (self) == 0)
        count++;
    return count;
}
