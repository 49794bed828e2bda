from evoinit.cli import main

main()
