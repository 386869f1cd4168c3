package console

import (
	"net/http"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

func (s *Server) mountEC2Catalog(mux *http.ServeMux) {
	mux.HandleFunc("GET /ec2/images", func(w http.ResponseWriter, r *http.Request) {
		ims, err := s.api.Images(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rows := make([]ec2ImageRow, 0, len(ims))
		for _, im := range ims {
			row := ec2ImageRow{Image: im}
			for _, v := range im.Versions {
				row.Built = append(row.Built, ec2ImageVersion{ImageVersion: v, Hash: ec2ShortHash(v.SourceHash)})
			}
			rows = append(rows, row)
		}
		s.page(w, r, "ec2/images", "ec2.images.title", rows)
	})
	mux.HandleFunc("GET /ec2/launch-templates", func(w http.ResponseWriter, r *http.Request) {
		lts, err := s.api.LaunchTemplates(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rows := make([]ec2TemplateRow, 0, len(lts))
		for _, lt := range lts {
			rows = append(rows, ec2TemplateRowOf(lt))
		}
		s.page(w, r, "ec2/launch-templates", "ec2.lt.title", rows)
	})
}

// ec2ImageRow is an image with its versions as the table shows them.
type ec2ImageRow struct {
	v1.Image
	Built []ec2ImageVersion
}

// ec2ImageVersion is an image version with its source hash shortened.
type ec2ImageVersion struct {
	v1.ImageVersion
	Hash string
}

// ec2TemplateRow is a launch template with its default version's data
// at hand.
type ec2TemplateRow struct {
	v1.LaunchTemplate
	// Default is the data of the version $Default resolves to.
	Default v1.LaunchTemplateData
	// UserData is the first line of the default version's user data,
	// shortened; UserDataLines how many lines it has.
	UserData      string
	UserDataLines int
}

func ec2TemplateRowOf(lt v1.LaunchTemplate) ec2TemplateRow {
	row := ec2TemplateRow{LaunchTemplate: lt}
	for _, v := range lt.Versions {
		if v.Number == lt.DefaultVersion {
			row.Default = v.Data
		}
	}
	if ud := strings.TrimSpace(row.Default.UserData); ud != "" {
		row.UserDataLines = strings.Count(ud, "\n") + 1
		first, _, _ := strings.Cut(ud, "\n")
		row.UserData = ec2Shorten(first, 60)
	}
	return row
}

// ec2Shorten cuts s to n runes with an ellipsis.
func ec2Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ec2ShortHash is the first 12 characters of a source hash, as the
// images table shows it.
func ec2ShortHash(h string) string {
	h = strings.TrimPrefix(h, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
