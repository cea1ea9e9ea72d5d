"""Sawt's custom Rasa NLU components: the Darija normalising tokenizer and the language detector.

Both modules are importable without Rasa: the pure functions (`normalise_darija`,
`detect_language`) need only the standard library, and the Rasa graph components
(`DarijaNormalisingTokenizer`, `LanguageDetector`) are built on first access, so the gateway
does not pay for importing Rasa and TensorFlow just to detect a language.
"""
