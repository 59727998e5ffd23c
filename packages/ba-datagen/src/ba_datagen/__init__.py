"""ba-datagen: business concepts from templates, the teacher prompt, and teacher documents.

``ba_llm`` (torch) is imported only when an LLM teacher is used, so the template path
runs without it loaded.
"""

import ba_io  # noqa: F401 - first: its start-up hook makes a Ctrl-C while we import one line

from .concepts import STRUCTURES, generate_concepts
from .synth import SynthResult, partial_path, synth
from .teachers import Draft, LLMTeacher, Teacher, TemplateTeacher, load_teacher_prompt, make_teacher, teacher_setup
from .template import TemplateError, write_document
from .vocab import domains

__version__ = "0.1.0"

__all__ = [
    "Draft",
    "LLMTeacher",
    "STRUCTURES",
    "SynthResult",
    "Teacher",
    "TemplateError",
    "TemplateTeacher",
    "__version__",
    "domains",
    "generate_concepts",
    "load_teacher_prompt",
    "make_teacher",
    "partial_path",
    "synth",
    "teacher_setup",
    "write_document",
]
