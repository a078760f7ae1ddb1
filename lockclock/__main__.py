from .runtime.entry import main

main()
