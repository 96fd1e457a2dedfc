print("mlab")
