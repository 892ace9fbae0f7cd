// Package layers holds no code: its test checks that every package of
// ktest imports only from its own layer or the layers above it, as
// DESIGN.md's "Layers" table says.
package layers
