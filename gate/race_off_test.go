//go:build !race

package gate

// raceEnabled is true in a build with the race detector.
const raceEnabled = false
