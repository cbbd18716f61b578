print("metasweep")
