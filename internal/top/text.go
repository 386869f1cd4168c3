package top

import (
	"regexp"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// bigHeight is the height of the big-number font.
const bigHeight = 3

// bigGlyphs is a three-line block font for the characters of a formatted
// number.
var bigGlyphs = map[rune][bigHeight]string{
	'0': {"█▀█", "█ █", "▀▀▀"},
	'1': {"▀█ ", " █ ", "▀▀▀"},
	'2': {"▀▀█", "█▀▀", "▀▀▀"},
	'3': {"▀▀█", " ▀█", "▀▀▀"},
	'4': {"█ █", "▀▀█", "  ▀"},
	'5': {"█▀▀", "▀▀█", "▀▀▀"},
	'6': {"█▀▀", "█▀█", "▀▀▀"},
	'7': {"▀▀█", "  █", "  ▀"},
	'8': {"█▀█", "█▀█", "▀▀▀"},
	'9': {"█▀█", "▀▀█", "▀▀▀"},
	'.': {" ", " ", "▀"},
	'-': {"   ", "▀▀▀", "   "},
	'–': {"   ", "▀▀▀", "   "},
	'k': {"█  ", "█▄▀", "▀ ▀"},
	'M': {"█▄ ▄█", "█ ▀ █", "▀   ▀"},
	'G': {"█▀▀", "█ ▄", "▀▀▀"},
}

// bigWidth is the width of s in the big font, or a very large number when
// the font lacks one of its characters.
func bigWidth(s string) int {
	w := -1
	for _, r := range s {
		g, ok := bigGlyphs[r]
		if !ok {
			return 1 << 30
		}
		w += ansi.StringWidth(g[0]) + 1
	}
	return max(w, 0)
}

// bigText draws s in the big font, one string a line.
func bigText(s string) []string {
	lines := make([]string, bigHeight)
	for i, r := range s {
		g := bigGlyphs[r]
		for k := range lines {
			if i > 0 {
				lines[k] += " "
			}
			lines[k] += g[k]
		}
	}
	return lines
}

// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var (
	mdLink     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[([^\]]*)\]\(([^)]*)\)`) })
	mdEmphasis = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\*\*|__|\x60`) })
	mdHeading  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^#{1,6}\s+`) })
	mdBullet   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^(\s*)[*+-]\s+`) })
)

// plainMarkdown turns a text widget's markdown into plain text: headings
// lose their #, links show their text, emphasis and code marks go and
// list items get a bullet.
func plainMarkdown(md string) string {
	s := mdHeading().ReplaceAllString(md, "")
	s = mdLink().ReplaceAllString(s, "$1")
	s = mdEmphasis().ReplaceAllString(s, "")
	return mdBullet().ReplaceAllString(s, "$1• ")
}

// wrapText breaks text into lines of at most w cells, at spaces where it
// can; the text's own line breaks stay.
func wrapText(text string, w int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	for _, para := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for ansi.StringWidth(word) > w {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				out = append(out, ansi.Truncate(word, w, ""))
				word = ansi.TruncateLeft(word, w, "")
			}
			switch {
			case line == "":
				line = word
			case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return out
}
