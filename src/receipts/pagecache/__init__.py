"""A cache of public pages for anonymous readers, correct by construction.

Every cached answer is filed under the database's *content generation*: a
random token that changes, on commit, with every write that could alter what
the public sees. A write to evidence, campaigns or imports therefore makes the
next anonymous request miss and render afresh; nothing waits for a timeout.
``generation`` keeps the token, ``middleware`` serves and stores the pages.
"""
