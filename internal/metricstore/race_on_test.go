//go:build race

package metricstore

// raceEnabled shortens the footprint simulation under the race detector.
const raceEnabled = true
