/*  =========================================================================
    zjob_http - the broker's HTTP side: server, routing, auth, responses

    libmicrohttpd runs one thread per connection (at most
    ZJOB_HTTP_CONNECTIONS_MAX, idle ones closed after ZJOB_HTTP_TIMEOUT_S)
    and a listening thread of its own. A request is answered on its
    connection's thread: the JSON API and the probes ask the broker as a
    client would (zjob_http_api.c), an event stream reads a SUB
    (zjob_http_sse.c). Nothing here reads or writes broker state, so the
    HTTP side can neither block nor corrupt the broker loop; it is just
    one more client, named in the broker's logs by its routing id.

    Every response carries the same security headers (no sniffing, a
    same-origin Content-Security-Policy, no framing) and no CORS header
    ever. With an http token, every route but the probes and the
    dashboard's static files needs it, as a Bearer token or as the
    zjob_token cookie that POST /api/login sets; the static files hold no
    data, and the page must load to ask for the token. Every POST needs
    the header X-Zjob-Request: 1, which a cross-site form cannot send:
    with the SameSite=Strict cookie, that shuts out cross-site requests.
    ========================================================================= */

#include "zjob_http_impl.h"
#include "zjob_http_assets.h"
#include <netdb.h>
#include <sys/stat.h>

//  --------------------------------------------------------------------------
//  Responses

enum MHD_Result
zjob_http_queue (zjob_http_request_t *req, int status, struct MHD_Response *response)
{
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (response, "Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; "
                             "style-src 'self' 'unsafe-inline'");
    MHD_add_response_header (response, "X-Frame-Options", "DENY");
    MHD_add_response_header (response, "Referrer-Policy", "no-referrer");
    MHD_add_response_header (response, "Cache-Control", req->no_store ? "no-store" : "no-cache");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (response, "WWW-Authenticate", "Bearer");
    enum MHD_Result result = MHD_queue_response (req->connection, (unsigned) status, response);
    MHD_destroy_response (response);
    if (result == MHD_YES)
        req->status = status;
    return result;
}

enum MHD_Result
zjob_http_respond (zjob_http_request_t *req, int status, const char *content_type,
                   const void *data, size_t size)
{
    struct MHD_Response *response
        = MHD_create_response_from_buffer (size, (void *) data, MHD_RESPMEM_MUST_COPY);
    if (response && content_type)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    return zjob_http_queue (req, status, response);
}

enum MHD_Result
zjob_http_json (zjob_http_request_t *req, int status, json_t *value)
{
    char *text = value ? zjob_json_dumps (value, ZJOB_JSON_COMPACT) : NULL;
    json_decref (value);
    if (!text)
        return zjob_http_respond (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                                  "out of memory\n", 14);
    struct MHD_Response *response
        = MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (text);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             "application/json; charset=utf-8");
    return zjob_http_queue (req, status, response);
}

enum MHD_Result
zjob_http_error (zjob_http_request_t *req, int status, const char *format, ...)
{
    char message [ZJOB_ERROR_TEXT_MAX];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    json_t *body = json_pack ("{s:{s:i,s:s}}", "error", "code", status, "message", message);
    return zjob_http_json (req, status, body);
}

enum MHD_Result
zjob_http_broker_error (zjob_http_request_t *req, const zjob_error_t *err)
{
    int status = err->code;
    if (status != 400 && status != 401 && status != 403 && status != 404 && status != 409 && status != 413
        && status != 429 && status != 503 && status != ZJOB_HTTP_GATEWAY_TIMEOUT)
        status = 500;
    json_t *body = json_pack ("{s:{s:i,s:s}}", "error", "code", err->code, "message", err->text);
    return zjob_http_json (req, status, body);
}

enum MHD_Result
zjob_http_empty (zjob_http_request_t *req, int status, const char *name, const char *value)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (0, NULL, MHD_RESPMEM_PERSISTENT);
    if (response && name)
        MHD_add_response_header (response, name, value);
    return zjob_http_queue (req, status, response);
}

//  --------------------------------------------------------------------------
//  Auth

//  True if given equals the token, in a time that does not depend on
//  where they differ
static bool
s_token_equal (const zjob_http_t *self, const char *given)
{
    size_t size = strlen (given);
    unsigned char diff = size != self->token_size;
    for (size_t index = 0; index < self->token_size; index++)
        diff |= (unsigned char) self->token [index]
            ^ (unsigned char) (index < size ? given [index] : 0);
    return diff == 0;
}

//  True if the request carries the token (or none is needed)
static bool
s_authorized (zjob_http_request_t *req)
{
    if (!req->http->token_size)
        return true;
    const char *header
        = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "Authorization");
    if (header && strncasecmp (header, "Bearer ", 7) == 0) {
        header += 7;
        while (*header == ' ')
            header++;
        if (s_token_equal (req->http, header))
            return true;
    }
    const char *cookie = MHD_lookup_connection_value (req->connection, MHD_COOKIE_KIND, "zjob_token");
    return cookie && s_token_equal (req->http, cookie);
}

//  POST /api/login {"token": "..."}: 204 with the cookie, or 401
static enum MHD_Result
s_login (zjob_http_request_t *req)
{
    zjob_error_t err;
    json_t *body = zjob_json_parse (req->body ? req->body : "", true, &err);
    if (!body)
        return zjob_http_error (req, MHD_HTTP_BAD_REQUEST, "body: %s", err.text);
    const char *token = json_string_value (json_object_get (body, "token"));
    if (!token) {
        json_decref (body);
        return zjob_http_error (req, MHD_HTTP_BAD_REQUEST, "body: \"token\" (a string) is required");
    }
    bool good = !req->http->token_size || s_token_equal (req->http, token);
    char cookie [ZJOB_HTTP_TOKEN_MAX + 64];
    snprintf (cookie, sizeof cookie, "zjob_token=%s; HttpOnly; SameSite=Strict; Path=/",
              req->http->token);
    json_decref (body);
    if (!good)
        return zjob_http_error (req, MHD_HTTP_UNAUTHORIZED, "wrong token");
    if (!req->http->token_size)  //  Nothing to remember
        return zjob_http_empty (req, MHD_HTTP_NO_CONTENT, NULL, NULL);
    return zjob_http_empty (req, MHD_HTTP_NO_CONTENT, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

static enum MHD_Result
s_logout (zjob_http_request_t *req)
{
    return zjob_http_empty (req, MHD_HTTP_NO_CONTENT, MHD_HTTP_HEADER_SET_COOKIE,
                            "zjob_token=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

//  --------------------------------------------------------------------------
//  Routing

static bool
s_is_get (const zjob_http_request_t *req)
{
    return streq (req->method, "GET") || streq (req->method, "HEAD");
}

static enum MHD_Result
s_method_not_allowed (zjob_http_request_t *req, const char *allow)
{
    char message [64];
    snprintf (message, sizeof message, "method %s not allowed; use %s", req->method, allow);
    json_t *body = json_pack ("{s:{s:i,s:s}}", "error", "code", 405, "message", message);
    char *text = body ? zjob_json_dumps (body, ZJOB_JSON_COMPACT) : NULL;
    json_decref (body);
    struct MHD_Response *response
        = text ? MHD_create_response_from_buffer (strlen (text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!response) {
        free (text);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             "application/json; charset=utf-8");
    MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, allow);
    return zjob_http_queue (req, MHD_HTTP_METHOD_NOT_ALLOWED, response);
}

//  The dashboard's files, open to all: they hold no data
static enum MHD_Result
s_asset (zjob_http_request_t *req)
{
    const zjob_http_asset_t *asset = zjob_http_asset_find (req->path);
    if (!asset)
        return zjob_http_error (req, MHD_HTTP_NOT_FOUND, "no such page: %s", req->path);
    if (!s_is_get (req))
        return s_method_not_allowed (req, "GET, HEAD");
    struct MHD_Response *response = MHD_create_response_from_buffer (
        asset->size, (void *) asset->data, MHD_RESPMEM_PERSISTENT);
    if (response)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, asset->content_type);
    return zjob_http_queue (req, MHD_HTTP_OK, response);
}

//  True if the request carries X-Zjob-Request: 1, which a cross-site
//  form cannot send (and a cross-site fetch cannot without CORS, which
//  is never granted)
static bool
s_csrf_header (zjob_http_request_t *req)
{
    const char *csrf
        = MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, "X-Zjob-Request");
    return csrf && streq (csrf, "1");
}

static enum MHD_Result
s_csrf_refused (zjob_http_request_t *req)
{
    return zjob_http_error (req, MHD_HTTP_FORBIDDEN, "a POST needs the header X-Zjob-Request: 1");
}

//  Routes that need the token, past the auth check
static enum MHD_Result
s_route_private (zjob_http_request_t *req)
{
    if (streq (req->method, "POST") && !s_csrf_header (req))
        return s_csrf_refused (req);
    if (streq (req->path, "/metrics"))
        return s_is_get (req) ? zjob_http_metrics (req) : s_method_not_allowed (req, "GET, HEAD");
    if (streq (req->path, "/api/events"))
        return s_is_get (req) ? zjob_http_events (req) : s_method_not_allowed (req, "GET");
    return zjob_http_api (req);
}

static enum MHD_Result
s_route (zjob_http_request_t *req)
{
    const char *path = req->path;
    bool api = streq (path, "/api") || strncmp (path, "/api/", 5) == 0;
    req->no_store = api || streq (path, "/metrics") || streq (path, "/healthz")
        || streq (path, "/readyz");
    if (req->body_too_large)
        return zjob_http_error (req, MHD_HTTP_CONTENT_TOO_LARGE, "the request body is over %d bytes",
                                ZJOB_HTTP_BODY_MAX);
    if (streq (path, "/healthz") || streq (path, "/readyz")) {
        if (!s_is_get (req))
            return s_method_not_allowed (req, "GET, HEAD");
        return zjob_http_probe (req, streq (path, "/readyz"));
    }
    //  Login and logout need no token: one checks it, the other only
    //  clears the cookie
    if (streq (path, "/api/login") || streq (path, "/api/logout")) {
        if (!streq (req->method, "POST"))
            return s_method_not_allowed (req, "POST");
        if (!s_csrf_header (req))
            return s_csrf_refused (req);
        return streq (path, "/api/login") ? s_login (req) : s_logout (req);
    }
    if (!api && !streq (path, "/metrics"))
        return s_asset (req);
    if (!s_authorized (req))
        return zjob_http_error (req, MHD_HTTP_UNAUTHORIZED,
                                "this needs the http token (Authorization: Bearer TOKEN)");
    return s_route_private (req);
}

//  --------------------------------------------------------------------------
//  Requests

//  "ADDRESS:PORT" of the connection's peer into req->peer
static void
s_peer (zjob_http_request_t *req)
{
    snprintf (req->peer, sizeof req->peer, "unknown");
    const union MHD_ConnectionInfo *info
        = MHD_get_connection_info (req->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *addr = info->client_addr;
    socklen_t size = addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                 : sizeof (struct sockaddr_in);
    char host [NI_MAXHOST], port [NI_MAXSERV];
    if (getnameinfo (addr, size, host, sizeof host, port, sizeof port,
                     NI_NUMERICHOST | NI_NUMERICSERV))
        return;
    if (addr->sa_family == AF_INET6)
        snprintf (req->peer, sizeof req->peer, "[%.46s]:%.6s", host, port);
    else
        snprintf (req->peer, sizeof req->peer, "%.46s:%.6s", host, port);
}

static zjob_http_request_t *
s_request_new (zjob_http_t *self, struct MHD_Connection *connection, const char *url,
               const char *method)
{
    zjob_http_request_t *req = (zjob_http_request_t *) zmalloc (sizeof (zjob_http_request_t));
    if (!req)
        return NULL;
    req->http = self;
    req->connection = connection;
    req->started = zjob_mono_ms ();
    snprintf (req->method, sizeof req->method, "%s", method);
    req->path = strdup (url);
    if (!req->path) {
        free (req);
        return NULL;
    }
    char *query = strchr (req->path, '?');
    if (query)
        *query = 0;
    s_peer (req);
    return req;
}

static void
s_body_append (zjob_http_request_t *req, const char *data, size_t size)
{
    if (req->body_too_large || req->body_size + size > ZJOB_HTTP_BODY_MAX) {
        req->body_too_large = true;
        return;
    }
    char *body = (char *) realloc (req->body, req->body_size + size + 1);
    if (!body) {
        req->body_too_large = true;
        return;
    }
    memcpy (body + req->body_size, data, size);
    req->body = body;
    req->body_size += size;
    body [req->body_size] = 0;
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    zjob_http_t *self = (zjob_http_t *) cls;
    zjob_http_request_t *req = (zjob_http_request_t *) *con_cls;
    if (!req) {
        req = s_request_new (self, connection, url, method);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        const char *length
            = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull (length, NULL, 10) > ZJOB_HTTP_BODY_MAX) {
            req->no_store = true;
            return zjob_http_error (req, MHD_HTTP_CONTENT_TOO_LARGE,
                                    "the request body is over %d bytes", ZJOB_HTTP_BODY_MAX);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->status)
            s_body_append (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->status)
        return MHD_YES;  //  Answered already (413)
    if (atomic_load (&self->stopping))
        return zjob_http_error (req, MHD_HTTP_SERVICE_UNAVAILABLE, "the broker is stopping");
    return s_route (req);
}

//  A request ended: log it (never its headers: they may hold the token)
//  and free it
static void
s_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    zjob_http_t *self = (zjob_http_t *) cls;
    zjob_http_request_t *req = (zjob_http_request_t *) *con_cls;
    if (!req)
        return;
    if (self->log_level >= ZJOB_LOG_DEBUG) {
        //  The path is unescaped: a %0A in it must not start a log line
        char path [256];
        snprintf (path, sizeof path, "%s", req->path);
        for (char *cursor = path; *cursor; cursor++)
            if ((unsigned char) *cursor < 0x20 || *cursor == 0x7f)
                *cursor = '?';
        zjob_log_debug ("http %s %s %d %" PRId64 " ms (%s)%s", req->method, path, req->status,
                        zjob_mono_ms () - req->started, req->peer,
                        code == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    }
    free (req->path);
    free (req->body);
    free (req);
    *con_cls = NULL;
}

//  libmicrohttpd's own messages, printf-like (its formats)
static void s_mhd_log (void *cls, const char *format, va_list args)
    __attribute__ ((format (printf, 2, 0)));

static void
s_mhd_log (void *cls, const char *format, va_list args)
{
    zjob_http_t *self = (zjob_http_t *) cls;
    if (self->log_level < ZJOB_LOG_WARNING)
        return;
    char line [512];
    vsnprintf (line, sizeof line, format, args);
    size_t size = strlen (line);
    while (size && (line [size - 1] == '\n' || line [size - 1] == '\r'))
        line [--size] = 0;
    zjob_log_warning ("http: %s", line);
}

//  --------------------------------------------------------------------------
//  Start and stop

//  Read the token: the file's first line, trimmed. 0, or -1 with err.
static int
s_token_load (zjob_http_t *self, const char *path, zjob_error_t *err)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "http-token: cannot read %s: %s", path,
                               strerror (errno));
    struct stat info;
    if (fstat (fileno (file), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO))
        && self->log_level >= ZJOB_LOG_WARNING)
        zjob_log_warning ("http-token: %s can be read by others than its owner (chmod 600 it)",
                          path);
    char line [ZJOB_HTTP_TOKEN_MAX + 2] = "";
    bool read = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    char *start = line;
    while (*start == ' ' || *start == '\t')
        start++;
    size_t size = strlen (start);
    while (size && isspace ((unsigned char) start [size - 1]))
        start [--size] = 0;
    if (!read || size < ZJOB_HTTP_TOKEN_MIN || size >= ZJOB_HTTP_TOKEN_MAX)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "http-token: the first line of %s must hold a token of %d to %d "
                               "characters",
                               path, ZJOB_HTTP_TOKEN_MIN, ZJOB_HTTP_TOKEN_MAX - 1);
    for (size_t index = 0; index < size; index++)
        if (!isgraph ((unsigned char) start [index]) || start [index] == ';'
            || start [index] == ',')
            return zjob_error_set (err, ZJOB_BAD_REQUEST,
                                   "http-token: the token in %s may hold printable characters "
                                   "only, no space, ';' or ','",
                                   path);
    memcpy (self->token, start, size + 1);
    self->token_size = size;
    return 0;
}

//  Split "HOST:PORT" ("[V6]:PORT") into host and port. 0, or -1 with err.
static int
s_split_address (const char *address, char *host, size_t host_size, char *port,
                 size_t port_size, zjob_error_t *err)
{
    const char *colon = strrchr (address, ':');
    const char *host_start = address, *host_end = colon;
    if (*address == '[') {
        host_start = address + 1;
        host_end = strchr (address, ']');
        if (!host_end || host_end [1] != ':')
            colon = NULL;
    }
    if (!colon || host_end <= host_start || !colon [1]
        || (size_t) (host_end - host_start) >= host_size || strlen (colon + 1) >= port_size
        || strspn (colon + 1, "0123456789") != strlen (colon + 1) || atol (colon + 1) > 65535)
        return zjob_error_set (err, ZJOB_BAD_REQUEST,
                               "http: '%s' is not HOST:PORT (e.g. 127.0.0.1:5573)", address);
    memcpy (host, host_start, (size_t) (host_end - host_start));
    host [host_end - host_start] = 0;
    snprintf (port, port_size, "%s", colon + 1);
    return 0;
}

static struct MHD_Daemon *
s_daemon_start (zjob_http_t *self, const struct addrinfo *addr)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
        | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (addr->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    //  The logger first, so that MHD says nothing on stderr by itself
    return MHD_start_daemon (
        flags, 0, NULL, NULL, s_handle, self, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self,
        MHD_OPTION_SOCK_ADDR, addr->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned) ZJOB_HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) ZJOB_HTTP_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_END);
}

//  Resolve config->http and listen on the first address that binds
static int
s_listen (zjob_http_t *self, const char *address, zjob_error_t *err)
{
    char host [ZJOB_BROKER_ENDPOINT_MAX], port [16];
    if (s_split_address (address, host, sizeof host, port, sizeof port, err))
        return -1;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *addrs = NULL;
    int rc = getaddrinfo (host, port, &hints, &addrs);
    if (rc)
        return zjob_error_set (err, ZJOB_BAD_REQUEST, "http: cannot resolve '%s': %s", host,
                               gai_strerror (rc));
    int error = 0;
    for (struct addrinfo *addr = addrs; addr && !self->daemon; addr = addr->ai_next) {
        if (addr->ai_family != AF_INET && addr->ai_family != AF_INET6)
            continue;
        errno = 0;
        self->daemon = s_daemon_start (self, addr);
        error = errno;
    }
    freeaddrinfo (addrs);
    if (!self->daemon)
        return zjob_error_set (err, ZJOB_UNAVAILABLE, "http: cannot listen on %s: %s", address,
                               error ? strerror (error) : "libmicrohttpd refused");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int) info->port : atoi (port);
    return 0;
}

zjob_http_t *
zjob_http_new (const zjob_broker_config_t *config, const zjob_broker_access_t *access,
               zjob_error_t *err)
{
    assert (config);
    assert (access);
    zjob_http_t *self = (zjob_http_t *) zmalloc (sizeof (zjob_http_t));
    if (!self) {
        zjob_error_set (err, ZJOB_INTERNAL, "http: out of memory");
        return NULL;
    }
    self->access = *access;
    self->log_level = config->log_level;
    atomic_init (&self->stopping, false);
    atomic_init (&self->requests, 0);
    atomic_init (&self->streams, 0);
    if (!*config->http) {
        zjob_error_set (err, ZJOB_BAD_REQUEST, "http: no HOST:PORT given");
        free (self);
        return NULL;
    }
    if ((*config->http_token && s_token_load (self, config->http_token, err))
        || s_listen (self, config->http, err)) {
        zjob_http_destroy (&self);
        return NULL;
    }
    return self;
}

int
zjob_http_port (zjob_http_t *self)
{
    assert (self);
    return self->port;
}

void
zjob_http_destroy (zjob_http_t **self_p)
{
    assert (self_p);
    zjob_http_t *self = *self_p;
    if (self) {
        //  Every wait looks at the flag each ZJOB_HTTP_SLICE_MS, so the
        //  connection threads MHD joins here end soon
        atomic_store (&self->stopping, true);
        if (self->daemon)
            MHD_stop_daemon (self->daemon);
        memset (self->token, 0, sizeof self->token);
        free (self);
        *self_p = NULL;
    }
}
