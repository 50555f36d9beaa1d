"""Reading and writing: images, videos, intrinsics, results and their JSON schema, atomic files.

Nothing is imported here, so importing the package stays cheap.
"""
