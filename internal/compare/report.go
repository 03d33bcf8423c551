package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// answerLines bounds how much of an answer a difference shows; answerWidth its columns in text.
const (
	answerLines = 40
	answerWidth = 60
)

// Write renders the report as text (a table, then each difference with both answers side by
// side), json (for machines) or markdown (to paste into an issue). No secret of the run appears.
func (r *Report) Write(w io.Writer, format string) error {
	var b bytes.Buffer
	switch format {
	case "json":
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	case "markdown":
		r.markdown(&b)
	case "text", "":
		r.text(&b)
	default:
		return fmt.Errorf("unknown format %q; use text, json or markdown", format)
	}
	_, err := io.WriteString(w, r.Redact(b.String()))
	return err
}

// Redact blanks every secret the run knows of in s.
func (r *Report) Redact(s string) string {
	for _, secret := range r.secrets {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, "<redacted>")
		}
	}
	return s
}

func (r *Report) summary() string {
	return fmt.Sprintf("%d probes: %d same, %d differ, %d target-only, %d skipped", len(r.Results),
		r.Counts[Same], r.Counts[Differs], r.Counts[TargetOnly], r.Counts[Skipped])
}

func (r *Report) text(b *bytes.Buffer) {
	fmt.Fprintf(b, "iscmock compare: %s against iscmock %s, %s\n%s\nEach probe compares the %s.\n\n", r.Target, r.Iscmock,
		r.Started.Format("2006-01-02 15:04 UTC"), r.summary(), Compared)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROBE\tVERDICT\t")
	for _, res := range r.Results {
		note := ""
		switch {
		case res.Reason != "":
			note = " (" + res.Reason + ")"
		case len(res.Differences) > 0:
			note = fmt.Sprintf(" (%d)", len(res.Differences))
		}
		fmt.Fprintf(tw, "%s\t%s%s\t\n", res.Probe, res.Verdict, note)
	}
	tw.Flush()
	for _, res := range r.differing() {
		fmt.Fprintf(b, "\n== %s: %s\n   %s\n   sends: %s\n", res.Probe, res.Verdict, res.What, res.Request)
		for _, d := range res.Differences {
			fmt.Fprintf(b, "   - %s\n", d)
		}
		left, right := lines(res.Target, res.Mock), lines(res.Mock, res.Target)
		fmt.Fprintf(b, "   %-*s | %s\n", answerWidth, "target", "mock")
		fmt.Fprintf(b, "   %s-+-%s\n", strings.Repeat("-", answerWidth), strings.Repeat("-", answerWidth))
		for i := range max(len(left), len(right)) {
			l, rr := "", ""
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				rr = right[i]
			}
			fmt.Fprintf(b, "   %s | %s\n", pad(trim(l, answerWidth), answerWidth), trim(rr, answerWidth))
		}
	}
	if len(r.LeftOnTarget) > 0 {
		fmt.Fprintf(b, "\n%v\n", r.LeftError())
	}
}

func (r *Report) markdown(b *bytes.Buffer) {
	fmt.Fprintf(b, "## iscmock compare\n\nTarget: %s, iscmock %s, %s. %s.\nEach probe compares the %s.\n\n", hostOnly(r.Target), r.Iscmock,
		r.Started.Format("2006-01-02 15:04 UTC"), r.summary(), Compared)
	table := func(results []Result) {
		b.WriteString("| probe | verdict | differences |\n|---|---|---|\n")
		for _, res := range results {
			d := cell(res.Reason)
			if len(res.Differences) > 0 {
				var cells []string
				for _, diff := range res.Differences {
					cells = append(cells, cell(diff))
				}
				d = strings.Join(cells, "<br>")
			}
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", res.Probe, res.Verdict, d)
		}
	}
	var notSame []Result
	for _, res := range r.Results {
		if res.Verdict != Same {
			notSame = append(notSame, res)
		}
	}
	if len(notSame) > 0 {
		table(notSame)
	}
	b.WriteString("\n<details><summary>Every probe</summary>\n\n")
	table(r.Results)
	b.WriteString("\n</details>\n")
	for _, res := range r.differing() {
		fmt.Fprintf(b, "\n### `%s`: %s\n\n%s. Sends `%s`.\n\n", res.Probe, res.Verdict, res.What, res.Request)
		for _, d := range res.Differences {
			fmt.Fprintf(b, "- %s\n", cell(d))
		}
		fmt.Fprintf(b, "\n<table><tr><th>target</th><th>mock</th></tr><tr><td><pre>%s</pre></td><td><pre>%s</pre></td></tr></table>\n",
			html.EscapeString(strings.Join(lines(res.Target, res.Mock), "\n")), html.EscapeString(strings.Join(lines(res.Mock, res.Target), "\n")))
	}
	if len(r.LeftOnTarget) > 0 {
		fmt.Fprintf(b, "\n**%v**\n", r.LeftError())
	}
}

func (r *Report) differing() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Verdict == Differs || res.Verdict == TargetOnly {
			out = append(out, res)
		}
	}
	return out
}

// lines renders an answer for a person, trimmed: status, setup step or error, the headers that
// differ from the other answer's, the body.
func lines(a, other *Answer) []string {
	if a == nil {
		return []string{"(not asked)"}
	}
	var out []string
	if a.Step != "" {
		out = append(out, a.Step)
	}
	if a.Error != "" {
		out = append(out, "error: "+a.Error)
	}
	if a.Status != 0 {
		out = append(out, "status "+strconv.Itoa(a.Status))
	}
	var names []string
	for h, v := range a.Headers {
		if other == nil || other.Headers[h] != v {
			names = append(names, h)
		}
	}
	slices.Sort(names)
	for _, h := range names {
		out = append(out, h+": "+a.Headers[h])
	}
	if a.Body != nil {
		body, ok := a.Body.(string)
		if !ok {
			body = jsonText(a.Body, "  ")
		}
		out = append(out, strings.Split(body, "\n")...)
	}
	if len(out) > answerLines {
		out = append(out[:answerLines-1], fmt.Sprintf("… %d more lines", len(out)-answerLines+1))
	}
	return out
}

func pad(s string, n int) string {
	if k := len([]rune(s)); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(html.EscapeString(s))
}

// hostOnly keeps a markdown report's target to its host: it is meant to be shared.
func hostOnly(target string) string {
	if i := strings.Index(target, "://"); i >= 0 {
		target = target[i+3:]
	}
	host, _, _ := strings.Cut(target, "/")
	return host
}
