/*  =========================================================================
    test_zjob_http_assets - the dashboard's files as zjobd embeds them

    The table is generated at build time (cmake/zjob_embed.cmake) from
    broker/dashboard/; these tests hold it to the files on disk, byte for
    byte, and hold the files to what the dashboard promises: one asset per
    file and "/" for index.html, content types by extension, an index.html
    that loads nothing but the embedded files (relative names, no inline
    script: the CSP "default-src 'self'" forbids both anything else and
    inline code), no absolute URL anywhere (the machines have no internet;
    the one "http://" allowed is the SVG namespace name, which is a name
    and never fetched), and no HTML built from strings in the JavaScript.
    ========================================================================= */

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "zjob_http_assets.h"

#define S_DASHBOARD_DIR ZJOB_SOURCE_DIR "/broker/dashboard"
#define S_FILES_MAX 64  //  files the listing holds, far more than there are

//  The regular files of broker/dashboard/, sorted; returns their count
static size_t
s_dashboard_files (char names [S_FILES_MAX][256])
{
    DIR *dir = opendir (S_DASHBOARD_DIR);
    cr_assert_not_null (dir, "cannot open %s", S_DASHBOARD_DIR);
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        char path [512];
        struct stat info;
        snprintf (path, sizeof path, "%s/%s", S_DASHBOARD_DIR, entry->d_name);
        if (stat (path, &info) || !S_ISREG (info.st_mode))
            continue;
        cr_assert_lt (count, S_FILES_MAX);
        snprintf (names [count++], 256, "%s", entry->d_name);
    }
    closedir (dir);
    qsort (names, count, sizeof names [0], (int (*) (const void *, const void *)) strcmp);
    return count;
}

//  A file's bytes (free them), its size in *size_p
static char *
s_read_file (const char *name, size_t *size_p)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", S_DASHBOARD_DIR, name);
    FILE *file = fopen (path, "rb");
    cr_assert_not_null (file, "cannot open %s", path);
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    char *data = malloc ((size_t) size + 1);
    cr_assert_not_null (data);
    cr_assert_eq (fread (data, 1, (size_t) size, file), (size_t) size);
    data [size] = 0;
    fclose (file);
    *size_p = (size_t) size;
    return data;
}

//  The asset's text, NUL-terminated (the generator adds a NUL past size)
static const char *
s_text (const char *path)
{
    const zjob_http_asset_t *asset = zjob_http_asset_find (path);
    cr_assert_not_null (asset, "no asset %s", path);
    cr_assert_eq (asset->data [asset->size], 0, "%s is not NUL-terminated", path);
    cr_assert_eq (strlen ((const char *) asset->data), asset->size, "%s holds a NUL", path);
    return (const char *) asset->data;
}

static bool
s_ends_with (const char *text, const char *tail)
{
    size_t length = strlen (text), tail_length = strlen (tail);
    return length >= tail_length && strcmp (text + length - tail_length, tail) == 0;
}


//  --------------------------------------------------------------------------
//  The table and the files

Test (assets, every_file_is_embedded_byte_for_byte)
{
    char names [S_FILES_MAX][256];
    size_t count = s_dashboard_files (names);
    cr_assert_geq (count, 4, "index.html, app.js, app.css and favicon.svg at least");
    for (size_t index = 0; index < count; index++) {
        char path [300];
        snprintf (path, sizeof path, "/%s", names [index]);
        const zjob_http_asset_t *asset = zjob_http_asset_find (path);
        cr_assert_not_null (asset, "%s is not embedded", path);
        cr_assert_str_eq (asset->path, path);
        size_t size = 0;
        char *data = s_read_file (names [index], &size);
        cr_assert_eq (asset->size, size, "%s: %zu bytes embedded, %zu on disk", path, asset->size, size);
        cr_assert (memcmp (asset->data, data, size) == 0, "%s differs from the file", path);
        free (data);
    }
    const char *required [] = { "/index.html", "/app.js", "/app.css", "/favicon.svg" };
    for (size_t index = 0; index < 4; index++)
        cr_assert_not_null (zjob_http_asset_find (required [index]), "%s is missing", required [index]);
}

Test (assets, table_lists_the_files_and_root_only)
{
    char names [S_FILES_MAX][256];
    size_t files = s_dashboard_files (names);
    size_t count = 0;
    const zjob_http_asset_t *assets = zjob_http_assets (&count);
    cr_assert_not_null (assets);
    cr_assert_eq (count, files + 1, "one asset per file, and / (%zu assets, %zu files)", count, files);
    for (size_t index = 0; index < count; index++) {
        cr_assert_eq (assets [index].path [0], '/');
        cr_assert_eq (zjob_http_asset_find (assets [index].path), &assets [index],
                      "%s is not found by its path", assets [index].path);
    }
    cr_assert_null (assets [count].path, "the table ends with a NULL entry");
}

Test (assets, root_is_index_html)
{
    const zjob_http_asset_t *root = zjob_http_asset_find ("/");
    const zjob_http_asset_t *index = zjob_http_asset_find ("/index.html");
    cr_assert_not_null (root);
    cr_assert_not_null (index);
    cr_assert_eq (root->data, index->data);
    cr_assert_eq (root->size, index->size);
    cr_assert_str_eq (root->content_type, "text/html; charset=utf-8");
}

Test (assets, unknown_paths_are_not_found)
{
    const char *paths [] = { "", "index.html", "/nope.js", "/app.js/", "//app.js", "/../app.js",
                             "/APP.JS", "/api/stats", "/favicon.ico" };
    for (size_t index = 0; index < sizeof paths / sizeof paths [0]; index++)
        cr_assert_null (zjob_http_asset_find (paths [index]), "%s was found", paths [index]);
    cr_assert_null (zjob_http_asset_find (NULL));
}

Test (assets, content_types_by_extension)
{
    size_t count = 0;
    const zjob_http_asset_t *assets = zjob_http_assets (&count);
    for (size_t index = 0; index < count; index++) {
        const char *path = assets [index].path, *type = assets [index].content_type;
        if (strcmp (path, "/") == 0 || s_ends_with (path, ".html"))
            cr_assert_str_eq (type, "text/html; charset=utf-8", "%s", path);
        else if (s_ends_with (path, ".js"))
            cr_assert_str_eq (type, "text/javascript; charset=utf-8", "%s", path);
        else if (s_ends_with (path, ".css"))
            cr_assert_str_eq (type, "text/css; charset=utf-8", "%s", path);
        else if (s_ends_with (path, ".svg"))
            cr_assert_str_eq (type, "image/svg+xml", "%s", path);
        else
            cr_assert_not_null (type, "%s", path);
    }
}


//  --------------------------------------------------------------------------
//  What the files may hold

//  Every src= and href= of index.html names an embedded file by a
//  relative name (or is an in-page #link): nothing from another origin,
//  nothing absolute that a proxy prefix would break
Test (assets, index_loads_only_relative_embedded_files)
{
    const char *html = s_text ("/index.html");
    size_t references = 0;
    const char *attributes [] = { " src=\"", " href=\"" };
    for (size_t kind = 0; kind < 2; kind++) {
        for (const char *at = strstr (html, attributes [kind]); at; at = strstr (at + 1, attributes [kind])) {
            const char *value = at + strlen (attributes [kind]);
            const char *end = strchr (value, '"');
            cr_assert_not_null (end);
            char name [256];
            cr_assert_lt ((size_t) (end - value), sizeof name - 1);
            memcpy (name, value, (size_t) (end - value));
            name [end - value] = 0;
            if (name [0] == '#')
                continue;  //  a route of the page itself
            cr_assert (name [0] != '/' && !strstr (name, ":") && !strstr (name, ".."),
                       "index.html references '%s': only relative names of embedded files", name);
            char path [300];
            snprintf (path, sizeof path, "/%s", name);
            cr_assert_not_null (zjob_http_asset_find (path), "index.html references '%s', which is not embedded", name);
            references++;
        }
    }
    cr_assert_geq (references, 3, "index.html loads app.js, app.css and the icon");
    cr_assert_not_null (strstr (html, "src=\"app.js\""));
    cr_assert_not_null (strstr (html, "href=\"app.css\""));
}

//  The CSP has no 'unsafe-inline' for scripts: every <script> loads a
//  file and has no body, and no element carries an on...= handler
Test (assets, index_has_no_inline_script)
{
    const char *html = s_text ("/index.html");
    size_t scripts = 0;
    for (const char *at = strstr (html, "<script"); at; at = strstr (at + 1, "<script")) {
        const char *close = strchr (at, '>');
        cr_assert_not_null (close);
        cr_assert (memmem (at, (size_t) (close - at), " src=\"", 6), "a <script> without src");
        cr_assert (strncmp (close + 1, "</script>", 9) == 0, "a <script> with a body");
        scripts++;
    }
    cr_assert_geq (scripts, 1);
    const char *handlers [] = { " onclick=", " onload=", " onerror=", " onsubmit=", "javascript:" };
    for (size_t index = 0; index < sizeof handlers / sizeof handlers [0]; index++)
        cr_assert_null (strstr (html, handlers [index]), "index.html has %s", handlers [index]);
}

//  No asset names a URL: the dashboard works with no network. The SVG
//  namespace is the one exception (a name that XML and the DOM need)
Test (assets, no_absolute_url_in_any_asset)
{
    const char *svg_ns = "http://www.w3.org/2000/svg\"";
    const char *svg_ns_js = "http://www.w3.org/2000/svg'";
    size_t count = 0;
    const zjob_http_asset_t *assets = zjob_http_assets (&count);
    for (size_t index = 0; index < count; index++) {
        const char *text = s_text (assets [index].path);
        for (const char *at = strstr (text, "://"); at; at = strstr (at + 3, "://")) {
            bool http = at - text >= 4 && strncmp (at - 4, "http", 4) == 0;
            bool https = at - text >= 5 && strncmp (at - 5, "https", 5) == 0;
            if (!http && !https) {
                cr_assert_fail ("%s: a URL at byte %zd", assets [index].path, at - text);
                continue;
            }
            const char *url = at - (https ? 5 : 4);
            cr_assert (!https && (strncmp (url, svg_ns, strlen (svg_ns)) == 0 || strncmp (url, svg_ns_js, strlen (svg_ns_js)) == 0),
                       "%s: an absolute URL at byte %zd: %.60s", assets [index].path, url - text, url);
        }
        cr_assert_null (strstr (text, "url(//"), "%s loads a protocol-relative URL", assets [index].path);
        cr_assert_null (strstr (text, "@import"), "%s imports a style sheet", assets [index].path);
    }
}

//  The JavaScript builds the page from elements and text nodes: no
//  string becomes HTML or code (the broker's data is a user's data)
Test (assets, script_builds_no_html_from_strings)
{
    size_t count = 0;
    const zjob_http_asset_t *assets = zjob_http_assets (&count);
    size_t scripts = 0;
    for (size_t index = 0; index < count; index++) {
        if (!s_ends_with (assets [index].path, ".js"))
            continue;
        const char *text = s_text (assets [index].path);
        const char *banned [] = { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                                  "eval(", "new Function", "setTimeout('", "setTimeout(\"" };
        for (size_t ban = 0; ban < sizeof banned / sizeof banned [0]; ban++)
            cr_assert_null (strstr (text, banned [ban]), "%s uses %s", assets [index].path, banned [ban]);
        scripts++;
    }
    cr_assert_geq (scripts, 1);
}
