"""Offline language resources: languages, sentence and word tokenizers, detection."""
