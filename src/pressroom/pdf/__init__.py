"""PDF adapter: pure functions over bytes / pikepdf documents, built on pikepdf, pypdfium2, pyHanko, factur-x.

One module per capability; :mod:`pressroom.pdf.pipeline` chains them in the documented order and is what
runs inside the sandbox processes of :mod:`pressroom.pdf.safeopen`. Nothing here touches HTTP, the
database or the blob store.
"""
