//! Password hashes from legacy shops (ADR 0016): WordPress's phpass (`$P$…`), WordPress 6.8's
//! bcrypt (`$wp$2y$…`) and plain bcrypt (`$2y$…`). Identity verifies them once, at a customer's
//! first sign-in, and replaces them with argon2id; the fixture generator makes them. Being
//! written.
