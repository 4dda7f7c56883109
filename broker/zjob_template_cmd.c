/*  =========================================================================
    zjob_template_cmd - the broker's answer to TEMPLATE (issue #11)

    Reads what the decoder checked (the op, the name, the template's spec,
    which zjob_post_template built), calls the templates module and
    encodes the OK with proto's builders. A list page is at most
    ZJOB_TEMPLATE_PAGE_MAX summaries, and costs a walk of the store's
    sorted names up to its end: a broker keeps 10,000 templates at most.
    ========================================================================= */

#include "zjob_template_cmd.h"

//  A list page being built: the templates visited, owned
typedef struct {
    zjob_template_t **templates;  //  max of them at most
    size_t count;
    size_t max;
} s_page_t;

static int
s_keep (zjob_template_t *template_, void *arg)
{
    s_page_t *page = (s_page_t *) arg;
    if (page->count == page->max) {
        zjob_template_destroy (&template_);
        return -1;
    }
    page->templates [page->count++] = template_;
    return 0;
}

static int
s_list (zjob_templates_t *templates, zjob_msg_t *msg, zjob_msg_builder_t *builder,
        uint64_t request_id, zjob_error_t *err)
{
    uint64_t offset = zjob_msg_uint (msg, "offset", 0);
    size_t limit = (size_t) zjob_msg_uint (msg, "limit", 0);
    if (limit == 0)
        limit = ZJOB_TEMPLATES_LIST_DEFAULT;
    s_page_t page = { (zjob_template_t **) calloc (limit, sizeof (zjob_template_t *)), 0, limit };
    zjob_template_info_t *infos = (zjob_template_info_t *) calloc (limit, sizeof *infos);
    int rc = 0;
    if (!page.templates || !infos)
        rc = zjob_error_set (err, ZJOB_INTERNAL, "out of memory");
    else {
        size_t total = zjob_templates_list (templates, offset > SIZE_MAX ? SIZE_MAX : (size_t) offset,
                                            limit, s_keep, &page);
        for (size_t index = 0; index < page.count; index++) {
            const zjob_template_t *template_ = page.templates [index];
            infos [index] = (zjob_template_info_t){ template_->name, &template_->spec,
                                                    template_->created_at,
                                                    template_->updated_at };
        }
        zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
        zjob_msg_add_templates (builder, "templates", infos, page.count);
        zjob_msg_add_uint (builder, "total", total);
        zjob_msg_add_uint (builder, "offset", offset);
    }
    for (size_t index = 0; index < page.count; index++)
        zjob_template_destroy (&page.templates [index]);
    free (page.templates);
    free (infos);
    return rc;
}

int
zjob_template_cmd (zjob_templates_t *templates, zjob_msg_t *msg, zjob_msg_builder_t *builder,
                   uint64_t request_id, zjob_error_t *err)
{
    assert (templates && msg && builder);
    const char *op = zjob_msg_str (msg, "op");
    const char *name = zjob_msg_str (msg, "name");
    if (op && streq (op, "set")) {
        size_t count = 0;
        const zjob_spec_t *spec = zjob_msg_specs (msg, &count);
        bool created = false;
        if (!spec || count != 1)
            return zjob_error_set (err, ZJOB_BAD_REQUEST, "template: missing");
        if (zjob_templates_set (templates, name, spec, &created, err))
            return -1;
        zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
        zjob_msg_add_str (builder, "name", name);
        zjob_msg_add_bool (builder, "created", created);
        return 1;
    }
    if (op && streq (op, "get")) {
        zjob_template_t *template_ = zjob_templates_get (templates, name, err);
        if (!template_)
            return -1;
        zjob_template_info_t info = { template_->name, &template_->spec, template_->created_at,
                                      template_->updated_at };
        zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
        zjob_msg_add_template (builder, "template", &info);
        zjob_template_destroy (&template_);
        return 0;
    }
    if (op && streq (op, "delete")) {
        if (zjob_templates_delete (templates, name, err))
            return -1;
        zjob_msg_begin (builder, ZJOB_CMD_OK, request_id);
        zjob_msg_add_str (builder, "name", name);
        return 1;
    }
    if (op && streq (op, "list"))
        return s_list (templates, msg, builder, request_id, err);
    //  The decoder lets through only the four
    return zjob_error_set (err, ZJOB_BAD_REQUEST, "op: set, get, list or delete");
}
