/*
 * svg.c — the timeline of kafu/trace.h as SVG (and an HTML page around it).
 *
 * Layout: time runs left to right over the whole run; one horizontal lane per
 * node. A thick bar on a lane is a span of time the program ran there. Every
 * migration is an arrow from its sender's lane (where the program left) to
 * its receiver's (where it ran again), labelled with the function, its bytes
 * on the wire and the total time; next to its head, a small bar splits that
 * time into the six phases (own scale: a migration takes milliseconds, a run
 * seconds). Failures are red crosses with the message. Every element carries
 * a class and data-* attributes (tests read the structure; people can style
 * it), and a <title> (a tooltip) with the numbers.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kafu/trace.h"

#define W 1000.0   /* plot width */
#define LEFT 120.0 /* lane labels */
#define RIGHT 40.0
#define TOP 56.0    /* title, legend */
#define LANE 70.0   /* lane pitch */
#define BOTTOM 44.0 /* axis */
#define PHASE_W 72.0

static const char *const k_colors[KAFU_TRACE_PHASES] = {"#8e6bbf", "#e3a33b", "#4f8fd6",
                                                        "#3bb08f", "#d6604f", "#9a9a9a"};

/* XML text and attribute values */
static void esc(kafu_buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&':
        kafu_buf_printf(b, "&amp;");
        break;
      case '<':
        kafu_buf_printf(b, "&lt;");
        break;
      case '>':
        kafu_buf_printf(b, "&gt;");
        break;
      case '"':
        kafu_buf_printf(b, "&quot;");
        break;
      case '\'':
        kafu_buf_printf(b, "&#39;");
        break;
      default:
        if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
          kafu_buf_putc(b, ' '); /* not allowed in XML 1.0 */
        else
          kafu_buf_putc(b, *s);
    }
  }
}

static void bytes_text(uint64_t n, char *out, size_t cap) {
  if (n >= 10ull << 20)
    snprintf(out, cap, "%.0f MiB", n / 1048576.0);
  else if (n >= 1ull << 20)
    snprintf(out, cap, "%.1f MiB", n / 1048576.0);
  else if (n >= 10ull << 10)
    snprintf(out, cap, "%.0f KiB", n / 1024.0);
  else if (n >= 1ull << 10)
    snprintf(out, cap, "%.1f KiB", n / 1024.0);
  else
    snprintf(out, cap, "%" PRIu64 " B", n);
}

static void ms_text(double ms, char *out, size_t cap) {
  if (ms >= 10000)
    snprintf(out, cap, "%.0f s", ms / 1000);
  else if (ms >= 1000)
    snprintf(out, cap, "%.2f s", ms / 1000);
  else if (ms >= 10)
    snprintf(out, cap, "%.0f ms", ms);
  else if (ms >= 1)
    snprintf(out, cap, "%.1f ms", ms);
  else
    snprintf(out, cap, "%.2f ms", ms);
}

typedef struct geo {
  const kafu_trace *t;
  double span_ns;
} geo;

static double xof(const geo *g, uint64_t t) {
  double f = g->span_ns > 0 ? (double)(t - g->t->t0) / g->span_ns : 0;
  return LEFT + f * W;
}
static double yof(size_t lane) { return TOP + LANE * (double)lane + LANE / 2; }

static size_t lane_of(const kafu_trace *t, const char *node) {
  for (size_t i = 0; i < t->nnodes; i++)
    if (!strcmp(t->nodes[i], node)) return i;
  return 0;
}

/* total of the known phases; the transfer a cluster sender measured contains
 * the receiver's decode and restore, which are shown as theirs */
static void phases(const kafu_trace_migration *m, double ms[KAFU_TRACE_PHASES], double *total) {
  *total = 0;
  for (int p = 0; p < KAFU_TRACE_PHASES; p++) ms[p] = m->phase_known[p] ? m->phase_ms[p] : 0;
  if (m->restored) {
    double inner = ms[KAFU_TRACE_ENCODE] + ms[KAFU_TRACE_DECODE] + ms[KAFU_TRACE_RESTORE];
    ms[KAFU_TRACE_TRANSFER] = ms[KAFU_TRACE_TRANSFER] > inner ? ms[KAFU_TRACE_TRANSFER] - inner : 0;
  }
  for (int p = 0; p < KAFU_TRACE_PHASES; p++) *total += ms[p];
}

static void tooltip(kafu_buf *b, const kafu_trace_migration *m, size_t idx) {
  char wire[32], raw[32], mem[32], tot[32];
  double ms[KAFU_TRACE_PHASES], total;
  phases(m, ms, &total);
  kafu_buf_printf(b, "<title>migration %zu", idx + 1);
  if (m->id[0]) {
    kafu_buf_printf(b, " (");
    esc(b, m->id);
    kafu_buf_printf(b, ")");
  }
  kafu_buf_printf(b, ": ");
  esc(b, m->from);
  kafu_buf_printf(b, " -&gt; ");
  esc(b, m->to);
  kafu_buf_printf(b, ", %s ", m->enter ? "entering" : "returning from");
  esc(b, m->function);
  if (m->timed) {
    bytes_text(m->wire_bytes, wire, sizeof wire);
    bytes_text(m->raw_bytes, raw, sizeof raw);
    bytes_text(m->memory_bytes, mem, sizeof mem);
    ms_text(total, tot, sizeof tot);
    kafu_buf_printf(b, "\n%s on the wire (%s memory pages, %s%s", wire, raw, m->delta ? "delta" : "full",
                    m->compression[0] ? ", " : "");
    esc(b, m->compression);
    kafu_buf_printf(b, ", memory %s); %s", mem, tot);
    for (int p = 0; p < KAFU_TRACE_PHASES; p++)
      if (m->phase_known[p]) kafu_buf_printf(b, "\n  %-8s %.3f ms", kafu_trace_phase_name(p), ms[p]);
  } else {
    kafu_buf_printf(b, "\n(emulated: no state was moved)");
  }
  kafu_buf_printf(b, "</title>");
}

static double nice_step(double range_ms, int want) {
  double raw = range_ms / want, p = pow(10, floor(log10(raw > 0 ? raw : 1)));
  double steps[] = {1, 2, 5, 10};
  for (int i = 0; i < 4; i++)
    if (steps[i] * p >= raw) return steps[i] * p;
  return 10 * p;
}

int kafu_trace_svg(const kafu_trace *t, const char *title, kafu_buf *b) {
  geo g = {t, (double)(t->t1 - t->t0)};
  if (g.span_ns <= 0) g.span_ns = 1e6;
  double height = TOP + LANE * (double)(t->nnodes ? t->nnodes : 1) + BOTTOM;
  double width = LEFT + W + RIGHT;
  char a[64], c[64];
  kafu_buf_printf(
      b,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"kafu-trace\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, width, height);
  kafu_buf_printf(b,
                  "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
                  "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" "
                  "fill=\"#333\"/></marker></defs>\n"
                  "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
  /* title: what the run was */
  ms_text(g.span_ns / 1e6, a, sizeof a);
  kafu_buf_printf(b, "<text class=\"title\" x=\"%.0f\" y=\"20\" font-size=\"14\" font-weight=\"bold\">",
                  LEFT);
  if (title) {
    esc(b, title);
    kafu_buf_printf(b, ": ");
  }
  kafu_buf_printf(b, "%zu migration%s between %zu node%s in %s", t->nmigs, t->nmigs == 1 ? "" : "s",
                  t->nnodes, t->nnodes == 1 ? "" : "s", a);
  if (t->finished) {
    kafu_buf_printf(b, "; ");
    esc(b, t->status);
    kafu_buf_printf(b, ", exit code %d", t->exit_code);
  }
  kafu_buf_printf(b, "</text>\n");
  /* legend */
  kafu_buf_printf(b, "<g class=\"legend\">");
  double lx = LEFT;
  kafu_buf_printf(b,
                  "<rect x=\"%.0f\" y=\"30\" width=\"18\" height=\"10\" fill=\"#2f6f4f\"/><text x=\"%.0f\" "
                  "y=\"39\">program runs here</text>",
                  lx, lx + 22);
  lx += 150;
  for (int p = 0; p < KAFU_TRACE_PHASES; p++, lx += 88)
    kafu_buf_printf(
        b,
        "<rect class=\"phase-%s\" x=\"%.0f\" y=\"30\" width=\"10\" height=\"10\" fill=\"%s\"/><text "
        "x=\"%.0f\" y=\"39\">%s</text>",
        kafu_trace_phase_name(p), lx, k_colors[p], lx + 14, kafu_trace_phase_name(p));
  kafu_buf_printf(b,
                  "<path d=\"M%.0f 30l10 10M%.0f 30l-10 10\" stroke=\"#c0392b\" stroke-width=\"2.5\"/>"
                  "<text x=\"%.0f\" y=\"39\">failure</text></g>\n",
                  lx, lx + 10, lx + 14);
  /* lanes and spans */
  for (size_t i = 0; i < t->nnodes; i++) {
    double y = yof(i);
    kafu_buf_printf(b, "<g class=\"lane\" data-node=\"");
    esc(b, t->nodes[i]);
    kafu_buf_printf(
        b,
        "\"><line class=\"lane-line\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
        "<text class=\"lane-label\" x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" font-weight=\"bold\">",
        LEFT, y, LEFT + W, y, LEFT - 10, y + 4);
    esc(b, t->nodes[i]);
    kafu_buf_printf(b, "</text>");
    for (size_t k = 0; k < t->nspans; k++) {
      const kafu_trace_span *s = &t->spans[k];
      if (s->node != i) continue;
      double x0 = xof(&g, s->t0), x1 = xof(&g, s->t1);
      ms_text((double)(s->t0 - t->t0) / 1e6, a, sizeof a);
      ms_text((double)(s->t1 - s->t0) / 1e6, c, sizeof c);
      kafu_buf_printf(
          b,
          "<rect class=\"span\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"12\" fill=\"#2f6f4f\">"
          "<title>program on ",
          x0, y - 6, x1 - x0 > 0.5 ? x1 - x0 : 0.5);
      esc(b, t->nodes[i]);
      kafu_buf_printf(b, " from +%s for %s</title></rect>", a, c);
    }
    kafu_buf_printf(b, "</g>\n");
  }
  /* migrations: labels only where they do not crowd each other */
  double last_label[2] = {-1e9, -1e9};
  for (size_t i = 0; i < t->nmigs; i++) {
    const kafu_trace_migration *m = &t->migs[i];
    size_t lf = lane_of(t, m->from), lt = lane_of(t, m->to);
    double x1 = xof(&g, m->t_leave), x2 = xof(&g, m->t_arrive);
    double y1 = yof(lf) + (lt > lf ? 7 : -7), y2 = yof(lt) + (lt > lf ? -8 : 8);
    double ms[KAFU_TRACE_PHASES], total;
    phases(m, ms, &total);
    kafu_buf_printf(b, "<g class=\"migration\" data-index=\"%zu\" data-id=\"", i + 1);
    esc(b, m->id);
    kafu_buf_printf(b, "\" data-from=\"");
    esc(b, m->from);
    kafu_buf_printf(b, "\" data-to=\"");
    esc(b, m->to);
    kafu_buf_printf(b, "\" data-kind=\"%s\" data-function=\"", m->enter ? "enter" : "exit");
    esc(b, m->function);
    kafu_buf_printf(b, "\" data-wire-bytes=\"%" PRIu64 "\" data-ms=\"%.3f\">", m->wire_bytes, total);
    tooltip(b, m, i);
    kafu_buf_printf(b,
                    "<line class=\"arrow\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#333\" "
                    "stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>",
                    x1, y1, x2, y2);
    int slot = lt > lf ? 0 : 1;
    /* a label (its text, then its phase bar) sits above the middle of the
     * arrow for a migration down the lanes, below it for one up: a call and
     * its return between the same two lanes, close in time, do not overlap */
    double ly = (y1 + y2) / 2 + (slot ? 14 : -12);
    bool label = x2 - last_label[slot] >= 130 || t->nmigs <= 12;
    /* near the right edge, labels go to the left of the head */
    bool left = x2 + 6 + 170 > LEFT + W + RIGHT;
    double tx = left ? x2 - 6 : x2 + 6;
    const char *anchor = left ? " text-anchor=\"end\"" : "";
    if (label && m->timed) {
      last_label[slot] = x2;
      /* the phase bar, at the head of the arrow */
      double bx = left ? x2 - 6 - PHASE_W : x2 + 6, by = ly + 3, scale = total > 0 ? PHASE_W / total : 0;
      kafu_buf_printf(b, "<g class=\"phases\">");
      for (int p = 0; p < KAFU_TRACE_PHASES; p++) {
        if (!m->phase_known[p]) continue;
        double w = ms[p] * scale;
        kafu_buf_printf(
            b,
            "<rect class=\"phase phase-%s\" data-ms=\"%.3f\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
            "height=\"8\" fill=\"%s\"><title>%s %.3f ms</title></rect>",
            kafu_trace_phase_name(p), ms[p], bx, by, w, k_colors[p], kafu_trace_phase_name(p), ms[p]);
        bx += w;
      }
      kafu_buf_printf(b, "</g>");
      bytes_text(m->wire_bytes, a, sizeof a);
      ms_text(total, c, sizeof c);
      kafu_buf_printf(b, "<text class=\"mig-label\" x=\"%.2f\" y=\"%.1f\" font-size=\"11\"%s>", tx, ly,
                      anchor);
      esc(b, m->function);
      kafu_buf_printf(b, " %s %s, %s</text>", a, m->delta ? "delta" : "full", c);
    } else if (label) {
      last_label[slot] = x2;
      kafu_buf_printf(b, "<text class=\"mig-label\" x=\"%.2f\" y=\"%.1f\" font-size=\"11\"%s>", tx, ly,
                      anchor);
      esc(b, m->function);
      kafu_buf_printf(b, "</text>");
    }
    kafu_buf_printf(b, "</g>\n");
  }
  /* failures and other records */
  for (size_t i = 0; i < t->nmarks; i++) {
    const kafu_trace_mark *mk = &t->marks[i];
    double x = xof(&g, mk->t), y = yof(mk->node);
    size_t row = 0; /* marks of one lane: their texts on rows of their own */
    for (size_t k = 0; k < i; k++) row += t->marks[k].node == mk->node;
    double ty = y - 12 - 13.0 * (double)(row % 3);
    kafu_buf_printf(b, "<g class=\"%s\" data-node=\"", mk->failure ? "failure" : "mark");
    esc(b, t->nodes[mk->node]);
    kafu_buf_printf(b, "\" data-type=\"");
    esc(b, mk->type);
    kafu_buf_printf(b, "\"><title>");
    esc(b, mk->text);
    kafu_buf_printf(b, "</title>");
    if (mk->failure)
      kafu_buf_printf(b,
                      "<path d=\"M%.1f %.1fl12 12M%.1f %.1fl-12 12\" stroke=\"#c0392b\" stroke-width=\"3\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\" font-size=\"11\" text-anchor=\"end\">",
                      x - 6, y - 6, x + 6, y - 6, x - 8, ty);
    else
      kafu_buf_printf(
          b,
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#fff\" stroke=\"#555\" stroke-width=\"2\"/>"
          "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\" font-size=\"11\" text-anchor=\"end\">",
          x, y, x - 8, ty);
    char shortt[120];
    snprintf(shortt, sizeof shortt, "%.100s%s", mk->text, strlen(mk->text) > 100 ? "..." : "");
    esc(b, shortt);
    kafu_buf_printf(b, "</text></g>\n");
  }
  /* time axis */
  double range_ms = g.span_ns / 1e6, step = nice_step(range_ms, 8);
  double ya = TOP + LANE * (double)(t->nnodes ? t->nnodes : 1) + 8;
  kafu_buf_printf(b,
                  "<g class=\"axis\"><line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#333\"/>",
                  LEFT, ya, LEFT + W, ya);
  for (double v = 0; v <= range_ms + step / 1000; v += step) {
    double x = LEFT + v / range_ms * W;
    ms_text(v, a, sizeof a);
    kafu_buf_printf(b,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/><text x=\"%.1f\" "
                    "y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">+%s</text>",
                    x, ya, x, ya + 5, x, ya + 18, a);
  }
  kafu_buf_printf(b, "</g>\n</svg>\n");
  return b->len && kafu_buf_cstr(b) ? 0 : KAFU_ENOMEM;
}

int kafu_trace_html(const kafu_trace *t, const char *title, kafu_buf *b) {
  kafu_buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
  esc(b, title ? title : "kafu trace");
  kafu_buf_printf(b,
                  "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
                  "font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
                  "td.l,th.l{text-align:left}tr.failure td{color:#c0392b}</style></head><body>\n<h1>");
  esc(b, title ? title : "kafu trace");
  kafu_buf_printf(b, "</h1>\n");
  if (kafu_trace_svg(t, title, b)) return KAFU_ENOMEM;
  kafu_buf_printf(b,
                  "<h2>Migrations</h2>\n<table class=\"migrations\"><tr><th>#</th><th class=\"l\">id</th>"
                  "<th>left at</th><th class=\"l\">from → to</th><th class=\"l\">function</th><th>wire "
                  "bytes</th><th>memory pages</th><th class=\"l\">image</th>");
  for (int p = 0; p < KAFU_TRACE_PHASES; p++) kafu_buf_printf(b, "<th>%s ms</th>", kafu_trace_phase_name(p));
  kafu_buf_printf(b, "<th>total ms</th></tr>\n");
  for (size_t i = 0; i < t->nmigs; i++) {
    const kafu_trace_migration *m = &t->migs[i];
    double ms[KAFU_TRACE_PHASES], total;
    phases(m, ms, &total);
    kafu_buf_printf(b, "<tr class=\"migration\"><td>%zu</td><td class=\"l\">", i + 1);
    esc(b, m->id);
    kafu_buf_printf(b, "</td><td>+%.3f ms</td><td class=\"l\">", (double)(m->t_leave - t->t0) / 1e6);
    esc(b, m->from);
    kafu_buf_printf(b, " → ");
    esc(b, m->to);
    kafu_buf_printf(b, "</td><td class=\"l\">%s ", m->enter ? "enter" : "return from");
    esc(b, m->function);
    if (m->timed) {
      kafu_buf_printf(b, "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td class=\"l\">%s%s", m->wire_bytes,
                      m->raw_bytes, m->delta ? "delta" : "full", m->compression[0] ? ", " : "");
      esc(b, m->compression);
      kafu_buf_printf(b, "</td>");
    } else
      kafu_buf_printf(b, "</td><td></td><td></td><td class=\"l\">emulated</td>");
    for (int p = 0; p < KAFU_TRACE_PHASES; p++)
      if (m->phase_known[p])
        kafu_buf_printf(b, "<td>%.3f</td>", ms[p]);
      else
        kafu_buf_printf(b, "<td></td>");
    kafu_buf_printf(b, "<td>%.3f</td></tr>\n", total);
  }
  kafu_buf_printf(b, "</table>\n");
  if (t->nmarks) {
    kafu_buf_printf(b,
                    "<h2>Events</h2>\n<table class=\"marks\"><tr><th>at</th><th class=\"l\">node</th><th "
                    "class=\"l\">what</th></tr>\n");
    for (size_t i = 0; i < t->nmarks; i++) {
      const kafu_trace_mark *mk = &t->marks[i];
      kafu_buf_printf(b, "<tr%s><td>+%.3f ms</td><td class=\"l\">", mk->failure ? " class=\"failure\"" : "",
                      (double)(mk->t - t->t0) / 1e6);
      esc(b, t->nodes[mk->node]);
      kafu_buf_printf(b, "</td><td class=\"l\">");
      esc(b, mk->text);
      kafu_buf_printf(b, "</td></tr>\n");
    }
    kafu_buf_printf(b, "</table>\n");
  }
  kafu_buf_printf(b, "</body></html>\n");
  return kafu_buf_cstr(b) ? 0 : KAFU_ENOMEM;
}
