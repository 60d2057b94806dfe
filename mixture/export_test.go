package mixture

// RandomEffects exposes the test generator to the black-box tests.
var RandomEffects = randomEffects
