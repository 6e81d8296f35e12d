package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

type verdict string

const (
	pass   verdict = "pass"
	fail   verdict = "FAIL"
	noGoal verdict = "—"
)

// row is one line of the result table.
type row struct {
	name   string
	raw    string
	ratio  string
	target string
	pass   verdict
}

func atLeast(v, goal float64) verdict {
	if v >= goal {
		return pass
	}
	return fail
}

func atMost(v, goal float64) verdict {
	if v <= goal {
		return pass
	}
	return fail
}

// renderTable renders the rows as a markdown table, readable as plain text.
func renderTable(rows []row) string {
	head := []string{"measurement", "raw figures", "ratio", "target", "result"}
	cells := [][]string{head}
	for _, r := range rows {
		cells = append(cells, []string{r.name, r.raw, r.ratio, r.target, string(r.pass)})
	}
	width := make([]int, len(head))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	var buf bytes.Buffer
	line := func(c []string) {
		buf.WriteString("|")
		for i, s := range c {
			fmt.Fprintf(&buf, " %s%s |", s, strings.Repeat(" ", width[i]-len([]rune(s))))
		}
		buf.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, c := range cells[1:] {
		line(c)
	}
	return buf.String()
}

// machine describes where the run happened.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s, %s/%s", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

const (
	docBegin = "<!-- bench:begin -->"
	docEnd   = "<!-- bench:end -->"
)

// writeDoc puts the run's command, machine and table between the bench
// markers of path, keeping the hand-written text around them. A file
// without markers gets the section appended.
func writeDoc(path, command, mach, table string, took time.Duration) error {
	section := fmt.Sprintf("%s\nRun on %s, %s, whole run %s:\n\n```\n%s\n```\n\n%s\n%s\n",
		docBegin, time.Now().UTC().Format("2006-01-02"), mach, took, command, table, docEnd)
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i >= 0 && j > i {
		s = s[:i] + strings.TrimSuffix(section, "\n") + s[j+len(docEnd):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n\n") {
			s += "\n"
		}
		s += section
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
