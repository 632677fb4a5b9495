from traider.cli import main

main()
