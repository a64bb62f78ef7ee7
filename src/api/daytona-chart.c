/* Daytona code-run chart artifacts (docs/daytona-compat.md, "Charts").
 *
 * Python code that mentions matplotlib runs inside a small wrapper (WRAPPER below, cove's
 * own). It forces the non-interactive Agg backend and hooks the import of matplotlib.pyplot
 * so that plt.show() prints, for each open figure, one line
 *     dtn_artifact_k39fd2:{"type":"chart","value":{...}}
 * and closes the figures. The user's code itself runs unchanged, compiled from its own text
 * (so tracebacks name "<code>" lines, not wrapper lines) in a fresh __main__ namespace.
 *
 * After the run, dtn_chart_extract() cuts those lines out of the output and normalises each
 * chart to the typed schema the SDKs validate: numbers where numbers are due, strings
 * elsewhere (a bar's value is a string), known keys only, and "unknown" for unknown types.
 * A malformed artifact line is dropped, never passed through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/daytona.h"

#define ARTIFACT_MARKER "dtn_artifact_k39fd2:"

static const char WRAPPER_HEAD[] =
    "import base64 as _cove_b64, os as _cove_os, sys as _cove_sys\n"
    "_cove_os.environ['MPLBACKEND'] = 'Agg'\n"
    "def _cove_setup():\n"
    "    import importlib.abc, importlib.machinery, io, json\n"
    "    done = []\n"
    "    def fl(v):\n"
    "        try:\n"
    "            f = float(v)\n"
    "        except Exception:\n"
    "            return None\n"
    "        return f if f == f and abs(f) != float('inf') else None\n"
    "    def fls(seq):\n"
    "        out = [fl(v) for v in seq]\n"
    "        return out if None not in out else None\n"
    "    def sval(v):\n"
    "        f = fl(v)\n"
    "        return str(int(f)) if f is not None and f.is_integer() else repr(f)\n"
    "    def texts(labels):\n"
    "        return [t.get_text() for t in labels]\n"
    "    def axis_data(ax, d):\n"
    "        d['title'] = ax.get_title()\n"
    "        d['x_label'] = ax.get_xlabel()\n"
    "        d['y_label'] = ax.get_ylabel()\n"
    "        for a in ('x', 'y'):\n"
    "            ticks = fls(getattr(ax, 'get_%sticks' % a)())\n"
    "            if ticks is not None:\n"
    "                d[a + '_ticks'] = ticks\n"
    "            d[a + '_tick_labels'] = texts(getattr(ax, 'get_%sticklabels' % a)())\n"
    "            d[a + '_scale'] = getattr(ax, 'get_%sscale' % a)()\n"
    "    def chart(ax, mpl):\n"
    "        d = {'type': 'unknown', 'elements': []}\n"
    "        axis_data(ax, d)\n"
    "        wedges = [p for p in ax.patches if isinstance(p, mpl.patches.Wedge)]\n"
    "        if wedges:\n"
    "            d['type'] = 'pie'\n"
    "            for w in wedges:\n"
    "                d['elements'].append({'label': str(w.get_label()),\n"
    "                    'angle': abs(w.theta2 - w.theta1), 'radius': float(w.r)})\n"
    "            return d\n"
    "        if ax.containers:\n"
    "            d['type'] = 'bar'\n"
    "            labels = d['x_tick_labels']\n"
    "            ticks = d.get('x_ticks') or []\n"
    "            for c in ax.containers:\n"
    "                for r in c:\n"
    "                    x = r.get_x() + r.get_width() / 2\n"
    "                    name = sval(x)\n"
    "                    for t, l in zip(ticks, labels):\n"
    "                        if abs(t - x) < 1e-9 and l:\n"
    "                            name = l\n"
    "                    d['elements'].append({'label': name, 'group': str(c.get_label()),\n"
    "                        'value': sval(r.get_height())})\n"
    "            return d\n"
    "        lines = [l for l in ax.get_lines() if len(l.get_xydata())]\n"
    "        cols = [c for c in ax.collections if len(c.get_offsets())]\n"
    "        if cols and not lines:\n"
    "            d['type'] = 'scatter'\n"
    "            for c in cols:\n"
    "                pts = [p for p in ([fl(x), fl(y)] for x, y in c.get_offsets()) if None not in "
    "p]\n"
    "                d['elements'].append({'label': str(c.get_label()), 'points': pts})\n"
    "        elif lines and not cols:\n"
    "            d['type'] = 'line'\n"
    "            for l in lines:\n"
    "                pts = [p for p in ([fl(x), fl(y)] for x, y in l.get_xydata()) if None not in "
    "p]\n"
    "                d['elements'].append({'label': str(l.get_label()), 'points': pts})\n"
    "        return d\n"
    "    def emit(fig, mpl):\n"
    "        axes = [ax for ax in fig.axes if ax.has_data()]\n"
    "        if len(axes) > 1:\n"
    "            subs = [chart(ax, mpl) for ax in axes]\n"
    "            v = {'type': 'composite_chart', 'title': fig._suptitle.get_text() if\n"
    "                 getattr(fig, '_suptitle', None) else '', 'elements': [{k: s[k] for k in\n"
    "                 ('type', 'title', 'x_label', 'y_label')} for s in subs]}\n"
    "        elif axes:\n"
    "            v = chart(axes[0], mpl)\n"
    "        else:\n"
    "            v = {'type': 'unknown', 'elements': []}\n"
    "        buf = io.BytesIO()\n"
    "        fig.savefig(buf, format='png', bbox_inches='tight')\n"
    "        v['png'] = _cove_b64.b64encode(buf.getvalue()).decode()\n"
    "        _cove_sys.stdout.write('" ARTIFACT_MARKER "' + json.dumps({'type': 'chart', "
    "'value': v}) + '\\n')\n"
    "        _cove_sys.stdout.flush()\n"
    "    def patch(plt):\n"
    "        import matplotlib as mpl\n"
    "        def show(*args, **kwargs):\n"
    "            for n in plt.get_fignums():\n"
    "                try:\n"
    "                    emit(plt.figure(n), mpl)\n"
    "                except Exception as e:\n"
    "                    _cove_sys.stderr.write('cove: chart extraction failed: %r\\n' % (e,))\n"
    "            plt.close('all')\n"
    "        plt.show = show\n"
    "    class Finder(importlib.abc.MetaPathFinder):\n"
    "        def find_spec(self, name, path, target=None):\n"
    "            if name != 'matplotlib.pyplot' or done:\n"
    "                return None\n"
    "            done.append(1)\n"
    "            spec = importlib.machinery.PathFinder.find_spec(name, path)\n"
    "            if spec is None or spec.loader is None:\n"
    "                return spec\n"
    "            orig = spec.loader.exec_module\n"
    "            def exec_module(module):\n"
    "                orig(module)\n"
    "                patch(module)\n"
    "            spec.loader.exec_module = exec_module\n"
    "            return spec\n"
    "    _cove_sys.meta_path.insert(0, Finder())\n"
    "_cove_setup()\n"
    "_cove_src = _cove_b64.b64decode('";

static const char WRAPPER_TAIL[] =
    "').decode('utf-8', 'surrogateescape')\n"
    "_cove_main = {'__name__': '__main__', '__builtins__': __builtins__, '__file__': '<code>'}\n"
    "exec(compile(_cove_src, '<code>', 'exec'), _cove_main)\n";

bool dtn_code_uses_matplotlib(const char *code, size_t len)
{
    return memmem(code, len, "matplotlib", 10) != NULL;
}

static char *base64(const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        *p++ = tab[v >> 18 & 63];
        *p++ = tab[v >> 12 & 63];
        *p++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
        *p++ = i + 2 < len ? tab[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

char *dtn_chart_wrap(const char *code, size_t len)
{
    char *b64 = base64((const unsigned char *)code, len), *out = NULL;

    if (b64 && asprintf(&out, "%s%s%s", WRAPPER_HEAD, b64, WRAPPER_TAIL) < 0)
        out = NULL;
    free(b64);
    return out;
}

/* ---- normalisation ---- */

/* A number as a JSON string ("3", "2.5"). */
static json_t *number_string(json_t *v)
{
    char b[64];
    double d = json_number_value(v);

    if (json_is_integer(v))
        snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(v));
    else
        snprintf(b, sizeof(b), "%.17g", d);
    return json_string(b);
}

/* Copy key from src to dst if it is a string (numbers become strings when lenient). */
static void copy_string(json_t *dst, json_t *src, const char *key, bool lenient)
{
    json_t *v = json_object_get(src, key);

    if (json_is_string(v))
        json_object_set(dst, key, v);
    else if (lenient && json_is_number(v))
        json_object_set_new(dst, key, number_string(v));
}

static void copy_number(json_t *dst, json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);

    if (json_is_number(v))
        json_object_set(dst, key, v);
}

/* An array whose items all pass ok(); else the key is left out. */
static void copy_array(json_t *dst, json_t *src, const char *key, int (*ok)(const json_t *))
{
    json_t *v = json_object_get(src, key), *item;
    size_t i;

    if (!json_is_array(v))
        return;
    json_array_foreach(v, i, item)
    {
        if (!ok(item))
            return;
    }
    json_object_set(dst, key, v);
}

static int is_number(const json_t *v)
{
    return json_is_number(v);
}

static int is_string(const json_t *v)
{
    return json_is_string(v);
}

static int is_point(const json_t *v)
{
    json_t *c;
    size_t i;

    if (!json_is_array(v))
        return 0;
    json_array_foreach(v, i, c)
    {
        if (!json_is_number(c))
            return 0;
    }
    return 1;
}

static json_t *element_norm(json_t *e)
{
    static const char *const strs[] = {"label", "group",   "type",   "title",
                                       "png",   "x_label", "y_label"};
    static const char *const nums[] = {"angle",  "radius",         "min", "first_quartile",
                                       "median", "third_quartile", "max"};
    json_t *o = json_object();

    if (!o || !json_is_object(e))
        return o;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        copy_string(o, e, strs[i], true);
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        copy_number(o, e, nums[i]);
    copy_string(o, e, "value", true);
    copy_array(o, e, "points", is_point);
    copy_array(o, e, "outliers", is_number);
    return o;
}

static json_t *chart_norm(json_t *c)
{
    static const char *const types[] = {"line", "scatter",         "bar",
                                        "pie",  "box_and_whisker", "composite_chart"};
    static const char *const strs[] = {"title", "png", "x_label", "y_label", "x_scale", "y_scale"};
    const char *type = json_string_value(json_object_get(c, "type"));
    json_t *o = json_object(), *els = json_array(), *e;
    size_t i;

    if (!o || !els) {
        json_decref(o);
        json_decref(els);
        return NULL;
    }
    json_object_set_new(o, "type", json_string("unknown"));
    for (i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(type, types[i]))
            json_object_set_new(o, "type", json_string(type));
    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        copy_string(o, c, strs[i], false);
    copy_array(o, c, "x_ticks", is_number);
    copy_array(o, c, "y_ticks", is_number);
    copy_array(o, c, "x_tick_labels", is_string);
    copy_array(o, c, "y_tick_labels", is_string);
    json_array_foreach(json_object_get(c, "elements"), i, e)
    {
        json_array_append_new(els, element_norm(e));
    }
    json_object_set_new(o, "elements", els);
    return o;
}

json_t *dtn_chart_extract(char *out, size_t *len)
{
    const size_t mlen = strlen(ARTIFACT_MARKER);
    json_t *charts = json_array();
    size_t r = 0, w = 0, n = *len;

    if (!out)
        return charts;
    while (r < n) {
        char *nl = memchr(out + r, '\n', n - r);
        size_t end = nl ? (size_t)(nl - out) : n, next = nl ? end + 1 : n;

        if (end - r >= mlen && !memcmp(out + r, ARTIFACT_MARKER, mlen)) {
            json_t *a = json_loadb(out + r + mlen, end - r - mlen, 0, NULL);
            const char *type = json_string_value(json_object_get(a, "type"));
            json_t *value = json_object_get(a, "type") ? json_object_get(a, "value") : NULL;

            if (charts && type && !strcmp(type, "chart") && json_is_object(value))
                json_array_append_new(charts, chart_norm(value));
            json_decref(a);
        } else {
            memmove(out + w, out + r, next - r);
            w += next - r;
        }
        r = next;
    }
    *len = w;
    out[w] = '\0';
    return charts;
}
