"""What this release's enrichment stage stores: its version and its embedder's name.

Kept free of imports so that `broadsheet status` can tell rows an older release wrote without
loading the stage (numpy, the word lists), which would slow every monitoring call.
"""

# Stored with each article's enrichment; raised when a release changes what the stage finds
# (2: hashtags name a company once, verb cues at a sentence's start; 3: no topic hashtag that
# English never uses as a noun, numbered things such as "Line 4" one tag; 4: no shouted
# sentence, contraction or unspaced-script phrase as a tag, named days, one tag per thing).
STAGE_VERSION = 4
DEFAULT_EMBEDDER = "lexical-lead-1024"
