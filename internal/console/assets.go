package console

import (
	"embed"
	"io/fs"
)

//go:embed assets
var assetFS embed.FS

// AssetFS returns the console's built front-end assets.
func AssetFS() fs.FS {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // the embedded directory is always there
	}
	return sub
}
