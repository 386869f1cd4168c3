package console

import (
	"embed"
	"io/fs"
)

// The built front end: console.js and console.css, written by
// `npm run build` in web/ and committed.
//
//go:embed assets
var assets embed.FS

// AssetFS returns the console's built front-end files, console.js and
// console.css, at the root of the returned file system.
func AssetFS() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "assets" is valid.
		panic(err)
	}
	return sub
}
